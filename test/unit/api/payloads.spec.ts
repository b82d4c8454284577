import { jest } from '@jest/globals';
import { type IncomingHttpHeaders, request } from 'node:http';
import { gzipSync } from 'node:zlib';
import { sha256, toHex } from '../../../domain/crypto/index.js';
import { encodeEnvelope } from '../../../domain/payloads/envelope.js';
import { get, post, signed, startTestApp, testSigner, type TestApp, vmCreate } from './fakes.js';

/** POSTs `chunks` to /v1/payloads as separate writes, 20 ms apart after the first. */
function postInChunks(
  url: string,
  chunks: readonly Buffer[],
): Promise<{ status: number; body: string; headers: IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port: Number(new URL(url).port), method: 'POST', path: '/v1/payloads' },
      (res) => {
        let body = '';
        res.on('data', (c) => (body += String(c)));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, headers: res.headers }));
      },
    );
    req.on('error', reject);
    req.write(chunks[0]);
    setTimeout(() => {
      for (const c of chunks.slice(1)) req.write(c);
      req.end();
    }, 20);
  });
}

jest.setTimeout(30_000);

describe.each([
  ['the fast intake path', true],
  ['the Nest controller', false],
])('POST /v1/payloads through %s', (_path, fastIntake) => {
  let t: TestApp;
  beforeEach(async () => {
    t = await startTestApp({ fastIntake });
  });
  afterEach(() => t.close());

  it('answers 202 with the id of the canonical envelope, stores it, then publishes it', async () => {
    const s = signed(vmCreate());
    const r = await post(t.url, s.envelope);
    expect(r).toEqual({ status: 202, body: { payloadId: s.payloadId } });
    expect(toHex(sha256(t.outbox.stored.get(s.payloadId)!))).toBe(s.payloadId);
    expect(Buffer.from(t.outbox.stored.get(s.payloadId)!)).toEqual(Buffer.from(s.bytes));
    await new Promise((r) => setTimeout(r, 20));
    expect(t.publisher.published.map((b) => Buffer.from(b).toString())).toEqual([
      Buffer.from(s.bytes).toString(),
    ]);
  });

  it('takes the envelope whatever the key order and spacing of the JSON', async () => {
    const s = signed(vmCreate());
    const { payload, signer, signature } = s.envelope;
    const reordered = `{ "signature": "${signature}",\n "signer": "${signer}", "payload": ${JSON.stringify(payload, null, 2)} }`;
    const r = await post(t.url, reordered, { 'content-type': 'text/plain' });
    expect(r).toEqual({ status: 202, body: { payloadId: s.payloadId } });
  });

  it('is durable before 202: 100 concurrent posts, fewer appends than posts (group commit)', async () => {
    t.outbox.delayMs = 25;
    const envelopes = Array.from({ length: 100 }, () => signed(vmCreate()));
    const seenDurable: boolean[] = [];
    const results = await Promise.all(
      envelopes.map((s) =>
        post(t.url, s.envelope).then((r) => {
          seenDurable.push(t.outbox.stored.has(s.payloadId));
          return r;
        }),
      ),
    );
    expect(results.every((r) => r.status === 202)).toBe(true);
    expect(results.map((r) => r.body.payloadId).sort()).toEqual(envelopes.map((e) => e.payloadId).sort());
    expect(seenDurable).toEqual(new Array(100).fill(true));
    expect(t.outbox.appends.length).toBeLessThan(100);
    expect(t.outbox.appends.flat().sort()).toEqual(envelopes.map((e) => e.payloadId).sort());
    expect(t.outbox.stored.size).toBe(100);
  });

  it('answers a duplicate 202 with the same id and stores it once (sequential and concurrent)', async () => {
    const s = signed(vmCreate());
    const first = await post(t.url, s.envelope);
    const again = await post(t.url, s.envelope);
    expect(again).toEqual(first);
    const c = signed(vmCreate());
    t.outbox.delayMs = 20;
    const both = await Promise.all([
      post(t.url, c.envelope),
      post(t.url, c.envelope),
      post(t.url, c.envelope),
    ]);
    expect(both.map((r) => r.body.payloadId)).toEqual([c.payloadId, c.payloadId, c.payloadId]);
    expect(t.outbox.appends.flat().filter((id) => id === s.payloadId)).toHaveLength(1);
    expect(t.outbox.appends.flat().filter((id) => id === c.payloadId)).toHaveLength(1);
    const metrics = (await get(t.url, '/metrics')).body as string;
    expect(metrics).toMatch(/dagger_api_payloads_accepted_total 5/);
    expect(metrics).toMatch(/dagger_api_payloads_duplicate_total 3/);
  });

  const good = () => signed(vmCreate());
  const cases: [string, () => string | object, number, string][] = [
    ['malformed JSON', () => '{"payload": {', 400, 'MALFORMED_JSON'],
    ['not JSON at all', () => 'hello', 400, 'MALFORMED_JSON'],
    ['an empty body', () => '', 400, 'INVALID_ENVELOPE'],
    ['a JSON array', () => '[1,2]', 400, 'INVALID_ENVELOPE'],
    ['a JSON string', () => '"hello"', 400, 'MALFORMED_JSON'],
    ['a missing signature', () => ({ ...good().envelope, signature: undefined }), 400, 'INVALID_ENVELOPE'],
    ['an extra envelope field', () => ({ ...good().envelope, extra: 1 }), 400, 'INVALID_ENVELOPE'],
    [
      'an uppercase signer',
      () => ({ ...good().envelope, signer: good().envelope.signer.toUpperCase() }),
      400,
      'INVALID_ENVELOPE',
    ],
    [
      'a missing payload field',
      () => signed({ ...vmCreate(), name: undefined } as never).envelope,
      400,
      'INVALID_PAYLOAD',
    ],
    ['an extra payload field', () => signed(vmCreate({ color: 'red' })).envelope, 400, 'INVALID_PAYLOAD'],
    [
      'a float where an integer goes',
      () => signed(vmCreate({ vcpus: 1.5 })).envelope,
      400,
      'INVALID_PAYLOAD',
    ],
    [
      'an unknown type',
      () => signed({ ...vmCreate(), type: 'vm.teleport' }).envelope,
      400,
      'UNKNOWN_PAYLOAD_TYPE',
    ],
    [
      'a flipped signature bit',
      () => {
        const e = good().envelope;
        const flipped = (parseInt(e.signature[0]!, 16) ^ 1).toString(16);
        return { ...e, signature: flipped + e.signature.slice(1) };
      },
      400,
      'BAD_SIGNATURE',
    ],
    [
      'a tampered payload',
      () => {
        const e = good().envelope;
        return { ...e, payload: { ...e.payload, vcpus: 64 } };
      },
      400,
      'BAD_SIGNATURE',
    ],
    [
      "another payload's signature",
      () => ({ ...good().envelope, signature: good().envelope.signature }),
      400,
      'BAD_SIGNATURE',
    ],
    [
      'a signature by another key',
      () => ({ ...good().envelope, signer: toHex(testSigner(2).publicKey) }),
      400,
      'BAD_SIGNATURE',
    ],
    ['a body over 64 KiB', () => ({ ...good().envelope, pad: 'x'.repeat(70_000) }), 413, 'PAYLOAD_TOO_LARGE'],
    [
      'a canonical envelope over 32 KiB',
      () => signed(vmCreate({ pad: 'x'.repeat(40_000) })).envelope,
      413,
      'PAYLOAD_TOO_LARGE',
    ],
  ];

  it.each(cases.map(([what, body, status, code]) => [what, status, code, body] as const))(
    'refuses %s with %i %s and appends nothing',
    async (_what, status, code, body) => {
      const r = await post(t.url, body());
      expect(r.status).toBe(status);
      expect(r.body.error.code).toBe(code);
      expect(typeof r.body.error.message).toBe('string');
      expect(Object.keys(r.body)).toEqual(['error']);
      expect(t.outbox.appends).toHaveLength(0);
      expect(t.publisher.published).toHaveLength(0);
      expect((await get(t.url, '/metrics')).body).toContain(
        `dagger_api_payloads_refused_total{code="${code}"} 1`,
      );
      expect(t.logs.some((l) => l.msg === 'request refused' && l.code === code)).toBe(true);
    },
  );

  it('gives field details for an invalid payload', async () => {
    const r = await post(t.url, signed(vmCreate({ vcpus: 0 })).envelope);
    expect(r.body.error.details).toEqual([expect.objectContaining({ path: 'payload.vcpus' })]);
  });

  it('answers 503 UNAVAILABLE when the outbox fails, and the next post still works', async () => {
    t.outbox.failing = true;
    const r = await post(t.url, signed(vmCreate()).envelope);
    expect(r.status).toBe(503);
    expect(r.body.error.code).toBe('UNAVAILABLE');
    expect(t.outbox.stored.size).toBe(0);
    t.outbox.failing = false;
    expect((await post(t.url, signed(vmCreate()).envelope)).status).toBe(202);
  });

  it('still answers 202 when publishing fails (the outbox keeps the envelope)', async () => {
    t.publisher.failing = true;
    expect((await post(t.url, signed(vmCreate()).envelope)).status).toBe(202);
    await new Promise((r) => setTimeout(r, 20));
    expect((await get(t.url, '/metrics')).body).toContain('dagger_api_publish_failures_total 1');
  });

  it('the canonical bytes stored are what judgeEnvelope gives', async () => {
    const s = signed(vmCreate());
    await post(t.url, s.envelope);
    expect(Buffer.from(t.outbox.stored.get(s.payloadId)!)).toEqual(Buffer.from(encodeEnvelope(s.envelope)));
  });
});

describe('POST /v1/payloads without an intake', () => {
  it('answers 503 UNAVAILABLE', async () => {
    const t = await startTestApp({ withIntake: false });
    try {
      const r = await post(t.url, signed(vmCreate()).envelope);
      expect(r.status).toBe(503);
      expect(r.body.error.code).toBe('UNAVAILABLE');
    } finally {
      await t.close();
    }
  });
});

describe('GET /v1/payloads/:id', () => {
  const id = 'ef'.repeat(32);
  it('is pending once durable, ordered when the node says so, then accepted or rejected from the read models', async () => {
    let ordered: { round: number; consensusIndex: number } | null = null;
    const t = await startTestApp({ orderLookup: { ordered: () => ordered } });
    try {
      const s = signed(vmCreate());
      await post(t.url, s.envelope);
      expect((await get(t.url, `/v1/payloads/${s.payloadId}`)).body).toEqual({ status: 'pending' });
      ordered = { round: 4, consensusIndex: 17 };
      expect((await get(t.url, `/v1/payloads/${s.payloadId}`)).body).toEqual({
        status: 'ordered',
        round: 4,
        consensusIndex: 17,
      });
      t.readModels.payloadRows.push({
        payloadId: s.payloadId,
        status: 'accepted',
        payloadType: 'vm.create',
        signer: s.envelope.signer,
        round: 4,
        consensusIndex: 17,
      });
      expect((await get(t.url, `/v1/payloads/${s.payloadId}`)).body).toEqual({
        status: 'accepted',
        round: 4,
        consensusIndex: 17,
      });
      t.readModels.payloadRows.push({
        payloadId: id,
        status: 'rejected',
        payloadType: 'vm.stop',
        signer: s.envelope.signer,
        code: 'NOT_OWNER',
        reason: 'vm-1 belongs to someone else',
        round: 5,
        consensusIndex: 20,
      });
      expect((await get(t.url, `/v1/payloads/${id}`)).body).toEqual({
        status: 'rejected',
        code: 'NOT_OWNER',
        reason: 'vm-1 belongs to someone else',
        round: 5,
        consensusIndex: 20,
      });
    } finally {
      await t.close();
    }
  });

  it('asks the outbox when the intake does not remember the id', async () => {
    const t = await startTestApp();
    try {
      t.outbox.stored.set(id, new Uint8Array([1]));
      expect((await get(t.url, `/v1/payloads/${id}`)).body).toEqual({ status: 'pending' });
    } finally {
      await t.close();
    }
  });

  it('answers 404 NOT_FOUND for an unknown id and 400 BAD_REQUEST for a bad one', async () => {
    const t = await startTestApp();
    try {
      const missing = await get(t.url, `/v1/payloads/${id}`);
      expect(missing.status).toBe(404);
      expect(missing.body.error.code).toBe('NOT_FOUND');
      for (const bad of ['xyz', 'EF'.repeat(32), 'ef'.repeat(33)]) {
        const r = await get(t.url, `/v1/payloads/${bad}`);
        expect(r.status).toBe(400);
        expect(r.body.error.code).toBe('BAD_REQUEST');
      }
    } finally {
      await t.close();
    }
  });
});

describe('the fast intake path hands unusual bodies to Express', () => {
  let t: TestApp;
  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(() => t.close());

  it('takes a gzip body through Express', async () => {
    const s = signed(vmCreate());
    const res = await fetch(`${t.url}/v1/payloads`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-encoding': 'gzip' },
      body: gzipSync(JSON.stringify(s.envelope)),
    });
    expect(res.status).toBe(202);
    expect(await res.json()).toEqual({ payloadId: s.payloadId });
  });

  it('refuses a charset other than UTF-8 with 415 UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await post(t.url, signed(vmCreate()).envelope, {
      'content-type': 'application/json; charset=latin1',
    });
    expect([r.status, r.body.error.code]).toEqual([415, 'UNSUPPORTED_MEDIA_TYPE']);
  });

  it('refuses a chunked body over the limit with 413 and closes the connection', async () => {
    const before = t.outbox.appends.length;
    const big = Buffer.from(JSON.stringify({ pad: 'x'.repeat(80_000) }));
    const r = await postInChunks(t.url, [big.subarray(0, 40_000), big.subarray(40_000)]);
    expect(r.status).toBe(413);
    expect(JSON.parse(r.body).error.code).toBe('PAYLOAD_TOO_LARGE');
    expect(r.headers.connection).toBe('close');
    expect(t.outbox.appends).toHaveLength(before);
  });

  it('joins a good body that arrives in several chunks, with the 202 headers of a single one', async () => {
    const s = signed(vmCreate());
    const bytes = Buffer.from(JSON.stringify(s.envelope));
    const r = await postInChunks(t.url, [
      bytes.subarray(0, 100),
      bytes.subarray(100, 200),
      bytes.subarray(200),
    ]);
    expect(r.status).toBe(202);
    expect(JSON.parse(r.body)).toEqual({ payloadId: s.payloadId });
    expect(r.headers['content-length']).toBe(String(Buffer.byteLength(r.body)));
    expect(r.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(Buffer.from(t.outbox.stored.get(s.payloadId)!)).toEqual(Buffer.from(s.bytes));
  });

  it('drops a body cut off mid-way without appending and keeps serving', async () => {
    const before = t.outbox.appends.length;
    await new Promise<void>((resolve) => {
      const req = request({
        host: '127.0.0.1',
        port: Number(new URL(t.url).port),
        method: 'POST',
        path: '/v1/payloads',
        headers: { 'content-length': '1000' },
      });
      req.on('error', () => resolve());
      req.write('{"payload":');
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 50);
    });
    await new Promise((r) => setTimeout(r, 50));
    expect(t.outbox.appends).toHaveLength(before);
    expect(t.logs.some((l) => l.code === 'BAD_REQUEST' && l.path === '/v1/payloads')).toBe(true);
    expect((await post(t.url, signed(vmCreate()).envelope)).status).toBe(202);
  });

  it('serves POST /v1/payloads with a query string the same way', async () => {
    const s = signed(vmCreate());
    const res = await fetch(`${t.url}/v1/payloads?trace=1`, {
      method: 'POST',
      body: JSON.stringify(s.envelope),
    });
    expect(res.status).toBe(202);
  });
});
