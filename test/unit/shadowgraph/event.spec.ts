import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import {
  assembleEvent,
  decodeEvent,
  encodeBody,
  type EventBody,
  MAX_EVENT_PAYLOAD_BYTES,
  toHex,
} from '../../../domain/shadowgraph/event.js';
import { ShadowGraphError } from '../../../domain/shadowgraph/errors.js';

const signer = signerFromSecretKey(sha256(new TextEncoder().encode('event-spec')));
const body = (over: Partial<EventBody> = {}): EventBody => ({
  creator: signer.publicKey,
  seq: 3,
  selfParent: new Uint8Array(32).fill(1),
  otherParent: new Uint8Array(32).fill(2),
  timestamp: 1_700_000_000_000_000,
  payloads: [new Uint8Array([1, 2, 3]), new Uint8Array(0)],
  stateRoot: new Uint8Array(32).fill(9),
  ...over,
});
const sign = (id: Uint8Array) => signer.sign(id);
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    return (e as ShadowGraphError).code;
  }
  return 'none';
};

describe('event encoding v1', () => {
  it('round-trips every field, and the id is sha256 of the body, signed by the creator', () => {
    const e = assembleEvent(body(), sign, sha256);
    const d = decodeEvent(e.bytes, sha256);
    expect(d.idHex).toBe(e.idHex);
    expect(d.idHex).toBe(toHex(sha256(encodeBody(body()))));
    expect(d.body.seq).toBe(3);
    expect(d.body.timestamp).toBe(1_700_000_000_000_000);
    expect(d.body.payloads).toEqual([new Uint8Array([1, 2, 3]), new Uint8Array(0)]);
    expect(d.body.stateRoot).toEqual(new Uint8Array(32).fill(9));
    expect(strictVerifier.verify(d.signature, d.id, d.body.creator)).toBe(true);
  });

  it('encodes absent parents without bytes for them (seq 0, optional other-parent)', () => {
    const first = assembleEvent(body({ seq: 0, selfParent: null, otherParent: null }), sign, sha256);
    const d = decodeEvent(first.bytes, sha256);
    expect(d.body.selfParent).toBeNull();
    expect(d.body.otherParent).toBeNull();
    expect(first.bytes.length).toBe(assembleEvent(body(), sign, sha256).bytes.length - 64);
  });

  it('changes the id when any byte of the body changes, so the signature no longer verifies', () => {
    const e = assembleEvent(body(), sign, sha256);
    const tampered = new Uint8Array(e.bytes);
    tampered[50]! ^= 1;
    const d = decodeEvent(tampered, sha256);
    expect(d.idHex).not.toBe(e.idHex);
    expect(strictVerifier.verify(d.signature, d.id, d.body.creator)).toBe(false);
  });

  it('refuses bodies over the limits', () => {
    const big = new Uint8Array(MAX_EVENT_PAYLOAD_BYTES + 1);
    expect(code(() => encodeBody(body({ payloads: [big] })))).toBe('EVENT_TOO_LARGE');
    expect(code(() => encodeBody(body({ payloads: [new Uint8Array(MAX_EVENT_PAYLOAD_BYTES)] })))).toBe(
      'none',
    );
    expect(code(() => encodeBody(body({ stateRoot: new Uint8Array(65) })))).toBe('MALFORMED_EVENT');
    expect(code(() => encodeBody(body({ seq: 0 })))).toBe('MALFORMED_EVENT');
    expect(code(() => encodeBody(body({ selfParent: null })))).toBe('MALFORMED_EVENT');
    expect(code(() => encodeBody(body({ creator: new Uint8Array(31) })))).toBe('MALFORMED_EVENT');
  });

  it('rejects malformed bytes with a typed error, never a crash', () => {
    const good = assembleEvent(body(), sign, sha256).bytes;
    const cases: Uint8Array[] = [
      new Uint8Array(0),
      good.subarray(0, 100),
      Uint8Array.from([...good.subarray(0, good.length - 64), 0, ...good.subarray(good.length - 64)]),
      (() => {
        const b = new Uint8Array(good);
        b[0] = 0x58;
        return b;
      })(),
      (() => {
        const b = new Uint8Array(good);
        b[4] = 2;
        return b;
      })(),
      (() => {
        const b = new Uint8Array(good);
        b[5] = 0x80;
        return b;
      })(),
    ];
    for (const bytes of cases) expect(code(() => decodeEvent(bytes, sha256))).toBe('MALFORMED_EVENT');
  });
});
