import { jest } from '@jest/globals';
import { get, post, signed, startTestApp, vmCreate } from './fakes.js';

jest.setTimeout(30_000);

describe('node app: errors, docs, metrics, logs', () => {
  it('answers unknown routes and methods with 404 NOT_FOUND in the error shape', async () => {
    const t = await startTestApp();
    try {
      for (const [method, path] of [
        ['GET', '/nope'],
        ['DELETE', '/v1/payloads'],
        ['PUT', '/v1/vms'],
      ] as const) {
        const res = await fetch(`${t.url}${path}`, { method });
        expect(res.status).toBe(404);
        const body = (await res.json()) as { error: { code: string; message: string } };
        expect(body.error.code).toBe('NOT_FOUND');
      }
    } finally {
      await t.close();
    }
  });

  it('serves OpenAPI at /docs and /docs-json with the envelope, the views and one schema per payload type', async () => {
    const t = await startTestApp();
    try {
      const ui = await get(t.url, '/docs');
      expect(ui.status).toBe(200);
      expect(String(ui.body)).toContain('swagger');
      const doc = (await get(t.url, '/docs-json')).body;
      expect(Object.keys(doc.paths)).toEqual(
        expect.arrayContaining([
          '/v1/payloads',
          '/v1/payloads/{id}',
          '/v1/vms',
          '/v1/vms/{id}',
          '/v1/hosts',
          '/v1/operators',
          '/v1/operators/proposals',
          '/v1/accounts/{key}',
        ]),
      );
      const schemas = doc.components.schemas;
      for (const name of [
        'EnvelopeDto',
        'VmDto',
        'HostDto',
        'OperatorDto',
        'ProposalDto',
        'AccountDto',
        'ErrorDto',
      ])
        expect(schemas[name]).toBeDefined();
      expect(schemas.VmCreatePayload.required).toEqual(
        expect.arrayContaining(['type', 'nonce', 'expiresAt', 'name', 'vcpus', 'memoryMiB', 'diskGiB']),
      );
      expect(schemas.EnvelopeDto.properties.payload.oneOf).toHaveLength(12);
      expect(doc.paths['/v1/payloads'].post.responses['202']).toBeDefined();
    } finally {
      await t.close();
    }
  });

  it('exposes intake metrics and the lag gauges fed by the probes', async () => {
    const t = await startTestApp({ lag: { consensusSeconds: () => 1.5, projectionRecords: async () => 42 } });
    try {
      await post(t.url, signed(vmCreate()).envelope);
      await post(t.url, '{');
      const res = await get(t.url, '/metrics');
      expect(res.headers.get('content-type')).toContain('text/plain');
      const text = res.body as string;
      expect(text).toContain('dagger_api_payloads_accepted_total 1');
      expect(text).toContain('dagger_api_payloads_refused_total{code="MALFORMED_JSON"} 1');
      expect(text).toContain('dagger_api_intake_seconds_count 1');
      expect(text).toContain('dagger_consensus_lag_seconds 1.5');
      expect(text).toContain('dagger_projection_lag_records 42');
      expect(text).toContain('dagger_payloads_in_total');
    } finally {
      await t.close();
    }
  });

  it('leaves the lag gauges out when no probe is given', async () => {
    const t = await startTestApp();
    try {
      const text = (await get(t.url, '/metrics')).body as string;
      expect(text).not.toContain('dagger_consensus_lag_seconds');
      expect(text).not.toContain('dagger_projection_lag_records');
    } finally {
      await t.close();
    }
  });

  it('logs refused requests as one JSON object per line on stderr by default', async () => {
    const t = await startTestApp({ log: undefined });
    const write = jest.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      await post(t.url, '{');
      const lines = write.mock.calls.map((c) => String(c[0])).filter((l) => l.includes('request refused'));
      expect(lines).toHaveLength(1);
      expect(lines[0]!.endsWith('\n')).toBe(true);
      expect(JSON.parse(lines[0]!)).toEqual(
        expect.objectContaining({
          level: 'warn',
          msg: 'request refused',
          method: 'POST',
          path: '/v1/payloads',
          status: 400,
          code: 'MALFORMED_JSON',
          time: expect.any(String),
        }),
      );
    } finally {
      write.mockRestore();
      await t.close();
    }
  });

  it('still serves /health and the ledger routes', async () => {
    const t = await startTestApp();
    try {
      expect((await get(t.url, '/health')).status).toBe(200);
      expect((await get(t.url, '/v1/ledger/head')).body).toEqual(
        expect.objectContaining({ round: 0, consensusIndex: 0 }),
      );
    } finally {
      await t.close();
    }
  });
});
