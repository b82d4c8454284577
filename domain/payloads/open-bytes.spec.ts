import fc from 'fast-check';
import {
  sha256,
  type SignatureVerifier,
  signerFromSecretKey,
  strictVerifier,
  toHex,
} from '../crypto/index.js';
import {
  type EnvelopePorts,
  judgeEnvelope,
  type Opened,
  openPayloadBytes,
  signingBytes,
  signPayload,
} from './envelope.js';
import { LIMITS } from './schemas.js';

/**
 * openPayloadBytes reuses canonical ledger bytes instead of re-encoding them. Here it must answer
 * exactly what the definition answers: decode strictly, parse, judge the value, re-encode, and
 * refuse bytes unequal to the re-encoding; and verify the very same signature, message and key.
 */

const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);

interface Call {
  readonly signature: number[];
  readonly message: number[];
  readonly publicKey: number[];
  readonly verdict: boolean;
}

function recording(): { ports: EnvelopePorts; calls: Call[] } {
  const calls: Call[] = [];
  const verify: SignatureVerifier = {
    verify(signature, message, publicKey) {
      const verdict = strictVerifier.verify(signature, message, publicKey);
      calls.push({
        signature: Array.from(signature),
        message: Array.from(message),
        publicKey: Array.from(publicKey),
        verdict,
      });
      return verdict;
    },
  };
  return { ports: { verify, hash: sha256 }, calls };
}

function byDefinition(bytes: Uint8Array, ports: EnvelopePorts): Opened {
  if (bytes.length > LIMITS.envelopeBytes)
    return {
      ok: false,
      error: {
        code: 'PAYLOAD_TOO_LARGE',
        message: `${bytes.length} bytes; the limit is ${LIMITS.envelopeBytes}`,
      },
    };
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch {
    return { ok: false, error: { code: 'MALFORMED_JSON', message: 'not UTF-8 JSON' } };
  }
  const judged = judgeEnvelope(value, ports);
  if (!judged.ok) return judged;
  if (Buffer.compare(judged.value.bytes, bytes) !== 0)
    return {
      ok: false,
      error: {
        code: 'NOT_CANONICAL',
        message: 'the bytes are not the canonical (RFC 8785) encoding of the envelope',
      },
    };
  return judged;
}

/** Opened with bytes as plain numbers, so a Buffer and a Uint8Array of equal bytes compare equal. */
const comparable = (o: Opened) =>
  o.ok ? { ...o, value: { ...o.value, bytes: Array.from(o.value.bytes) } } : o;

function agree(bytes: Uint8Array): Opened {
  const fast = recording();
  const reference = recording();
  const opened = openPayloadBytes(bytes, fast.ports);
  expect(comparable(opened)).toEqual(comparable(byDefinition(bytes, reference.ports)));
  expect(fast.calls).toEqual(reference.calls);
  // The message verified is SIGNING_DOMAIN + the JCS of the payload as given, encoded apart.
  for (const call of fast.calls) {
    const payload = (JSON.parse(new TextDecoder().decode(bytes)) as { payload: object }).payload;
    expect(call.message).toEqual(Array.from(signingBytes(payload)));
  }
  return opened;
}

const keys = [0, 1, 2].map((i) => signerFromSecretKey(sha256(utf8.encode(`open-bytes-spec:${i}`))));
const T = 1_800_000_000_000;
const nonce = fc.stringMatching(/^[A-Za-z0-9_-]{8,12}$/);
/** Any string, lone surrogates included, for fields that take free text. */
const anyText = fc.oneof(fc.string({ unit: 'binary', maxLength: 12 }), fc.string({ maxLength: 12 }));
const hex64 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map(toHex);

const payload = fc.oneof(
  fc.record({
    type: fc.constant('vm.create'),
    nonce,
    expiresAt: fc.constant(T),
    name: fc.constantFrom('web', 'db-1', 'Ünïcode'),
    vcpus: fc.integer({ min: 0, max: 130 }),
    memoryMiB: fc.constant(512),
    diskGiB: fc.constant(10),
    userData: anyText,
  }),
  fc.record({
    type: fc.constant('vm.report'),
    nonce,
    expiresAt: fc.constant(T),
    vmId: fc.constantFrom('vm-1', 'a'),
    requestId: hex64,
    status: fc.constantFrom('running', 'failed'),
    detail: anyText,
    addresses: fc.array(anyText, { maxLength: 2 }),
  }),
  fc.record({
    type: fc.constant('host.register'),
    nonce,
    expiresAt: fc.constant(T),
    hostId: fc.constant('h-1'),
    libvirtUri: anyText,
    capacity: fc.record({ vcpus: fc.nat(64), memoryMiB: fc.nat(), diskGiB: fc.nat() }),
  }),
  fc.record({
    type: fc.constant('operator.vote'),
    nonce,
    expiresAt: fc.constant(T),
    proposalId: hex64,
    approve: fc.boolean(),
  }),
  fc.record({
    type: fc.constantFrom('vm.stop', 'nonsense', '\u00e9'),
    nonce,
    expiresAt: fc.oneof(fc.constant(T), fc.constant(1.5), fc.constant('soon')),
    vmId: fc.constant('vm-1'),
    extra: fc.option(fc.jsonValue({ maxDepth: 2 }), { nil: undefined }),
  }),
);

const signed = fc
  .tuple(payload, fc.nat(keys.length - 1))
  .map(([p, k]) => signPayload(p as Record<string, unknown> & { type: string }, keys[k]!, sha256));

/** Text edits that keep or break canonical form, validity, the signature or the JSON itself. */
const edits: ((s: string, at: number) => string)[] = [
  (s) => s,
  (s, at) => s.slice(0, at) + ' ' + s.slice(at),
  (s) => s.replace(':', ': '),
  (s) => '\uFEFF' + s,
  (s) => s + '\n',
  (s) => s.replace('"nonce":"', '"nonce":"\\u0041'),
  (s) => s.replace(/"([a-z])/, (_, c: string) => `"\\u00${c.charCodeAt(0).toString(16)}`),
  (s) => s.replace('/', '\\/'),
  (s) => s.replace(/"signature":"(.)/, (_, c: string) => `"signature":"${c === '0' ? '1' : '0'}`),
  (s) => s.replace(/"signer":"[0-9a-f]/, (m) => m.toUpperCase()),
  (s) => s.replace(/"signature":"[0-9a-f]{2}/, '"signature":"'),
  (s) => s.replace(/"signature":"[0-9a-f]{2}/, '"signature":"zz'),
  (s) => s.replace(/,"signature":("[0-9a-f]+"),"signer":("[0-9a-f]+")/, ',"signer":$2,"signature":$1'),
  (s) => s.replace(/"expiresAt":(\d+)/, '"expiresAt":$1.0'),
  (s) => s.replace(/"expiresAt":(\d+)/, '"expiresAt":"$1"'),
  (s) => s.replace('{"payload":', '{"payload":{"type":"x"},"payload":'),
  (s) => s.replace('{"payload":{', '{"payload":{"__proto__":{},'),
  (s) => s.replace('}', ',"zz":1}'),
  (s, at) => s.slice(0, at),
];

describe('openPayloadBytes against its definition', () => {
  it('agrees on signed envelopes and edits of them (spacing, order, escapes, types, hex, signatures)', () => {
    let opened = 0;
    const seen = new Set<string>();
    fc.assert(
      fc.property(signed, fc.nat(edits.length - 1), fc.nat(400), (s, e, at) => {
        const bytes = utf8.encode(edits[e]!(text(s.bytes), at % (s.bytes.length + 1)));
        const r = agree(bytes);
        seen.add(r.ok ? 'OK' : r.error.code);
        if (r.ok) opened++;
      }),
      { numRuns: 600 },
    );
    // The run must have reached the fast path and every kind of refusal it can cause.
    expect(opened).toBeGreaterThan(20);
    for (const code of [
      'OK',
      'NOT_CANONICAL',
      'INVALID_ENVELOPE',
      'INVALID_PAYLOAD',
      'BAD_SIGNATURE',
      'MALFORMED_JSON',
    ])
      expect(seen).toContain(code);
  });

  it('agrees on byte-level damage of signed envelopes', () => {
    fc.assert(
      fc.property(signed, fc.nat(), fc.integer({ min: 0, max: 255 }), (s, at, b) => {
        const bytes = Uint8Array.from(s.bytes);
        bytes[at % bytes.length] = b;
        agree(bytes);
      }),
      { numRuns: 300 },
    );
  });

  it('agrees on junk and on JSON that is no envelope', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.uint8Array({ maxLength: 64 }),
          fc.json().map((j) => utf8.encode(j)),
          fc
            .jsonValue()
            .map((v) => utf8.encode(JSON.stringify({ payload: v, signature: '00', signer: '11' }))),
        ),
        (bytes) => {
          agree(bytes);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('opens canonical bytes given as a Buffer slice to the same bytes and id', () => {
    const s = signPayload(
      { type: 'vm.stop', nonce: 'nonce-0001', expiresAt: T, vmId: 'vm-1' },
      keys[0]!,
      sha256,
    );
    const slab = Buffer.concat([Buffer.from('xx'), s.bytes, Buffer.from('yy')]);
    const opened = agree(slab.subarray(2, 2 + s.bytes.length));
    expect(opened).toMatchObject({ ok: true, value: { payloadId: s.payloadId } });
  });
});
