import { describe, expect, it } from '@jest/globals';
import { CommsBusError } from '../../../src/bus/comms-bus.js';
import {
  backoffMs,
  messageBytes,
  murmur2,
  partitionForKey,
  validateMessages,
  validateSubscribeOptions,
  validateTopicSpecs,
  withTimeout,
} from '../../../src/bus/common.js';

const enc = new TextEncoder();

describe('murmur2 and key partitioning', () => {
  it("matches the Java client's Utils.murmur2 test vectors", () => {
    const vectors: [string, number][] = [
      ['21', -973932308],
      ['foobar', -790332482],
      ['a-little-bit-long-string', -985981536],
      ['a-little-bit-longer-string', -1486304829],
      ['lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8', -58897971],
      ['abc', 479470107],
    ];
    for (const [s, h] of vectors) expect(murmur2(enc.encode(s))).toBe(h);
  });

  it('puts a key on one partition in range, the same every time', () => {
    for (const n of [1, 2, 3, 12]) {
      for (let i = 0; i < 200; i++) {
        const p = partitionForKey(`key-${i}`, n);
        expect(p).toBeGreaterThanOrEqual(0);
        expect(p).toBeLessThan(n);
        expect(partitionForKey(`key-${i}`, n)).toBe(p);
      }
    }
  });
});

describe('validation', () => {
  const code = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      return e instanceof CommsBusError ? e.code : 'not a CommsBusError';
    }
    return 'no error';
  };

  it('checks topic specs', () => {
    expect(code(() => validateTopicSpecs([{ name: 'dagger.abc.payloads', partitions: 12 }]))).toBe(
      'no error',
    );
    expect(code(() => validateTopicSpecs([{ name: 'a b', partitions: 1 }]))).toBe('BAD_REQUEST');
    expect(code(() => validateTopicSpecs([{ name: '..', partitions: 1 }]))).toBe('BAD_REQUEST');
    expect(code(() => validateTopicSpecs([{ name: 'x'.repeat(250), partitions: 1 }]))).toBe('BAD_REQUEST');
    expect(code(() => validateTopicSpecs([{ name: 't', partitions: 1.5 }]))).toBe('BAD_REQUEST');
    expect(
      code(() =>
        validateTopicSpecs([
          { name: 't', partitions: 1 },
          { name: 't', partitions: 2 },
        ]),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('refuses a whole publish when one message is too large or malformed', () => {
    const ok = { key: 'k', value: new Uint8Array(10) };
    expect(validateMessages('t', [ok], 1000)).toEqual([messageBytes(ok)]);
    expect(code(() => validateMessages('t', [ok, { key: null, value: new Uint8Array(1000) }], 1000))).toBe(
      'MESSAGE_TOO_LARGE',
    );
    expect(
      code(() => validateMessages('t', [{ key: 'k', value: 'text' as unknown as Uint8Array }], 1000)),
    ).toBe('BAD_REQUEST');
    expect(
      code(() =>
        validateMessages(
          't',
          [{ key: 'k', value: new Uint8Array(1), headers: { h: 1 as unknown as string } }],
          1000,
        ),
      ),
    ).toBe('BAD_REQUEST');
  });

  it('counts key, value and headers in a message size', () => {
    const base = messageBytes({ key: null, value: new Uint8Array(100) });
    expect(messageBytes({ key: 'ab', value: new Uint8Array(100) })).toBe(base + 2);
    expect(messageBytes({ key: null, value: new Uint8Array(100), headers: { h: 'é' } })).toBe(
      base + 1 + 2 + 8,
    );
  });

  it('checks subscribe options and defaults maxBatch', () => {
    expect(validateSubscribeOptions('t', { group: 'g', fromBeginning: true })).toBe(500);
    expect(validateSubscribeOptions('t', { group: 'g', fromBeginning: false, maxBatch: 3 })).toBe(3);
    expect(code(() => validateSubscribeOptions('t', { group: 'g', fromBeginning: true, maxBatch: -1 }))).toBe(
      'BAD_REQUEST',
    );
    expect(code(() => validateSubscribeOptions('t', { group: 'x'.repeat(256), fromBeginning: true }))).toBe(
      'BAD_REQUEST',
    );
  });
});

describe('timing helpers', () => {
  it('backs off exponentially, within 20% jitter, up to the cap', () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    const expected = [100, 200, 400, 800, 1_000, 1_000, 1_000];
    expected.forEach((base, i) => {
      for (let k = 0; k < 20; k++) {
        const ms = backoffMs(policy, i + 1);
        expect(ms).toBeGreaterThanOrEqual(Math.floor(base * 0.8));
        expect(ms).toBeLessThanOrEqual(base);
      }
    });
    expect(backoffMs(policy, 10_000)).toBeLessThanOrEqual(1_000);
  });

  it('times out a promise that does not settle', async () => {
    await expect(withTimeout(new Promise(() => {}), 20, () => new Error('late'))).rejects.toThrow('late');
    await expect(withTimeout(Promise.resolve(7), 1_000, () => new Error('late'))).resolves.toBe(7);
  });
});
