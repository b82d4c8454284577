import fc from 'fast-check';
import { sha256, signerFromSecretKey, strictVerifier, toHex } from '../crypto/index.js';
import {
  encodeEnvelope,
  judgeEnvelope,
  openPayloadBytes,
  payloadIdOf,
  readableParts,
  SIGNING_DOMAIN,
  signingBytes,
  signPayload,
} from './envelope.js';
import { LIMITS } from './schemas.js';

const ports = { verify: strictVerifier, hash: sha256 };
const utf8 = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const alice = signerFromSecretKey(sha256(utf8.encode('envelope-spec:alice')));
const mallory = signerFromSecretKey(sha256(utf8.encode('envelope-spec:mallory')));
const create = {
  type: 'vm.create',
  nonce: 'nonce-0001',
  expiresAt: 1_800_000_000_000,
  name: 'web',
  vcpus: 1,
  memoryMiB: 512,
  diskGiB: 10,
};
const codeOf = (bytes: Uint8Array) => {
  const r = openPayloadBytes(bytes, ports);
  return r.ok ? 'OK' : r.error.code;
};
const edit = (bytes: Uint8Array, from: string, to: string) => utf8.encode(text(bytes).replace(from, to));

describe('signed envelope', () => {
  it('round-trips: the id is the sha256 of the canonical bytes, defaults are filled in', () => {
    const signed = signPayload(create, alice, sha256);
    expect(signed.payloadId).toBe(toHex(sha256(signed.bytes)));
    expect(signed.payloadId).toBe(payloadIdOf(signed.bytes, sha256));
    const opened = openPayloadBytes(signed.bytes, ports);
    expect(opened).toMatchObject({
      ok: true,
      value: { payloadId: signed.payloadId, payload: { ...create, image: 'blank', sshKeys: [] } },
    });
    // The signature covers the payload as written, without the defaults.
    expect(text(signingBytes(create))).toBe(
      SIGNING_DOMAIN + JSON.stringify(Object.fromEntries(Object.entries(create).sort())),
    );
  });

  it('the bytes are the JCS encoding of the whole envelope (sorted keys, no spaces)', () => {
    const { bytes, envelope } = signPayload(create, alice, sha256);
    expect(text(bytes).startsWith('{"payload":{"diskGiB":10,"expiresAt":')).toBe(true);
    expect(encodeEnvelope(envelope)).toEqual(bytes);
  });

  it('refuses bytes that are not the canonical encoding: NOT_CANONICAL', () => {
    const { bytes } = signPayload(create, alice, sha256);
    expect(codeOf(edit(bytes, '{', '{ '))).toBe('NOT_CANONICAL');
    expect(codeOf(edit(bytes, '"vcpus":1', '"vcpus":1.0'))).toBe('NOT_CANONICAL');
    expect(codeOf(new Uint8Array([0xef, 0xbb, 0xbf, ...bytes]))).toBe('NOT_CANONICAL');
    expect(codeOf(edit(bytes, '{"payload":', '{"payload":{"type":"x"},"payload":'))).toBe('NOT_CANONICAL');
    // The same envelope judged as a value is fine: only ledger bytes must be canonical.
    expect(judgeEnvelope(JSON.parse(text(edit(bytes, '{', '{ '))), ports).ok).toBe(true);
  });

  it('refuses what is not UTF-8 JSON: MALFORMED_JSON', () => {
    expect(codeOf(utf8.encode('{'))).toBe('MALFORMED_JSON');
    expect(codeOf(new Uint8Array([0x22, 0xff, 0x22]))).toBe('MALFORMED_JSON');
  });

  it('calls bytes MALFORMED_JSON exactly when a fatal UTF-8 decode and JSON.parse would throw', () => {
    const throws = (bytes: Uint8Array) => {
      try {
        JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
        return false;
      } catch {
        return true;
      }
    };
    const near = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      fc.json().map((j) => utf8.encode(j)),
      fc.tuple(fc.json(), fc.nat(40), fc.integer({ min: 0x80, max: 0xff })).map(([j, at, b]) => {
        const bytes = utf8.encode(j);
        if (bytes.length > 0) bytes[at % bytes.length] = b;
        return bytes;
      }),
    );
    fc.assert(
      fc.property(near, (bytes) => {
        expect(codeOf(bytes) === 'MALFORMED_JSON').toBe(throws(bytes));
      }),
      { numRuns: 500 },
    );
    // A leading byte-order mark is dropped by the decoder, as before.
    expect(codeOf(utf8.encode('\uFEFF{}'))).toBe('INVALID_ENVELOPE');
  });

  it('reads the claimed type and signer of an envelope it refuses, and nothing of junk', () => {
    const bad = edit(signPayload(create, alice, sha256).bytes, '"vcpus":1', '"vcpus":0');
    expect(readableParts(bad)).toEqual({ payloadType: 'vm.create', signer: toHex(alice.publicKey) });
    expect(readableParts(new Uint8Array([0x7b, 0xff]))).toEqual({ payloadType: null, signer: null });
    expect(readableParts(utf8.encode('[1]'))).toEqual({ payloadType: null, signer: null });
    expect(readableParts(utf8.encode('{"payload":{"type":7},"signer":"AB"}'))).toEqual({
      payloadType: null,
      signer: null,
    });
  });

  it('refuses too many bytes before parsing them: PAYLOAD_TOO_LARGE', () => {
    expect(codeOf(new Uint8Array(LIMITS.envelopeBytes + 1))).toBe('PAYLOAD_TOO_LARGE');
    const big = judgeEnvelope(
      signPayload({ ...create, sshKeys: Array(5).fill('k'.repeat(8000)) }, alice, sha256).envelope,
      ports,
    );
    expect(big).toMatchObject({ ok: false, error: { code: 'PAYLOAD_TOO_LARGE' } });
  });

  it('refuses a wrong shape: INVALID_ENVELOPE', () => {
    const { envelope } = signPayload(create, alice, sha256);
    for (const bad of [
      null,
      [],
      { ...envelope, extra: 1 },
      { ...envelope, signer: envelope.signer.toUpperCase() },
      { ...envelope, signature: envelope.signature.slice(2) },
      { ...envelope, payload: ['vm.create'] },
      { ...envelope, payload: { ...envelope.payload, type: 7 } },
    ])
      expect(judgeEnvelope(bad, ports)).toMatchObject({ ok: false, error: { code: 'INVALID_ENVELOPE' } });
  });

  it('refuses a "__proto__" key anywhere, which a copy would silently drop', () => {
    const withProto = JSON.parse(
      '{"type":"vm.stop","nonce":"nonce-0001","expiresAt":1,"vmId":"a","__proto__":{"vmId":"victim"}}',
    ) as Record<string, unknown> & { type: string };
    const { bytes } = signPayload(withProto, alice, sha256);
    expect(codeOf(bytes)).toBe('INVALID_ENVELOPE');
  });

  it('refuses unknown types and invalid fields: UNKNOWN_PAYLOAD_TYPE, INVALID_PAYLOAD with details', () => {
    expect(codeOf(signPayload({ ...create, type: 'vm.fly' }, alice, sha256).bytes)).toBe(
      'UNKNOWN_PAYLOAD_TYPE',
    );
    expect(codeOf(signPayload({ ...create, type: 'constructor' }, alice, sha256).bytes)).toBe(
      'UNKNOWN_PAYLOAD_TYPE',
    );
    const r = openPayloadBytes(signPayload({ ...create, vcpus: 0, extra: true }, alice, sha256).bytes, ports);
    expect(r).toMatchObject({ ok: false, error: { code: 'INVALID_PAYLOAD' } });
    if (!r.ok) expect(r.error.details?.map((d) => d.path).sort()).toEqual(['payload', 'payload.vcpus']);
  });

  it('refuses a signature by another key or over other content: BAD_SIGNATURE', () => {
    const { envelope } = signPayload(create, alice, sha256);
    const other = signPayload(create, mallory, sha256).envelope;
    expect(codeOf(encodeEnvelope({ ...envelope, signer: other.signer }))).toBe('BAD_SIGNATURE');
    expect(codeOf(encodeEnvelope({ ...envelope, payload: { ...envelope.payload, vcpus: 2 } }))).toBe(
      'BAD_SIGNATURE',
    );
    // The domain separation is part of what is signed.
    const raw = { ...envelope, signature: toHex(alice.sign(utf8.encode(JSON.stringify(create)))) };
    expect(codeOf(encodeEnvelope(raw))).toBe('BAD_SIGNATURE');
  });

  it('refuses strings with no canonical encoding (lone surrogates)', () => {
    const { bytes } = signPayload(create, alice, sha256);
    expect(codeOf(edit(bytes, '"name":"web"', '"name":"w\\ud800"'))).toBe('INVALID_ENVELOPE');
  });

  it('two signings of one payload by one key give one id; another nonce gives another', () => {
    expect(signPayload(create, alice, sha256).payloadId).toBe(signPayload(create, alice, sha256).payloadId);
    expect(signPayload({ ...create, nonce: 'nonce-0002' }, alice, sha256).payloadId).not.toBe(
      signPayload(create, alice, sha256).payloadId,
    );
  });
});
