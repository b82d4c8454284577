import { sha256, toHex } from '../../../domain/crypto/index.js';
import { LIMITS } from '../../../domain/payloads/index.js';
import { accepted, createVm, erin, given, T0, T0_MS } from './kit.js';

const utf8 = new TextEncoder();

describe('bytes the envelope check refuses', () => {
  it('yield PayloadRejected with its code, the id of the raw bytes, and what is known', () => {
    const junk = utf8.encode('not json');
    given()
      .when(junk)
      .then({
        type: 'PayloadRejected',
        payloadId: toHex(sha256(junk)),
        payloadType: null,
        signer: null,
        code: 'MALFORMED_JSON',
        reason: 'not UTF-8 JSON',
      });
  });

  it('a bad signature names the claimed type and signer', () => {
    const good = createVm(erin);
    const text = new TextDecoder().decode(good.bytes);
    const forged = utf8.encode(text.replace('"name":"web"', '"name":"bad"'));
    given()
      .when(forged)
      .thenMatch({
        type: 'PayloadRejected',
        payloadId: toHex(sha256(forged)),
        payloadType: 'vm.create',
        signer: erin.key,
        code: 'BAD_SIGNATURE',
      });
  });

  it('non-canonical bytes, oversize bytes, unknown types and invalid payloads', () => {
    const good = createVm(erin);
    const spaced = utf8.encode(new TextDecoder().decode(good.bytes).replace('{', '{ '));
    given().when(spaced).thenRejected('NOT_CANONICAL');
    given()
      .when(new Uint8Array(LIMITS.envelopeBytes + 1))
      .thenRejected('PAYLOAD_TOO_LARGE');
    given()
      .when(erin.sign({ type: 'vm.fly' }))
      .thenRejected('UNKNOWN_PAYLOAD_TYPE');
    given()
      .when(createVm(erin, { vcpus: 0 }))
      .thenRejected('INVALID_PAYLOAD');
    given()
      .when(utf8.encode('{"payload":{"type":"' + 'x'.repeat(100) + '"}}'))
      .thenMatch({ code: 'INVALID_ENVELOPE', payloadType: null });
  });
});

describe('expiry and replay', () => {
  it('EXPIRED when consensus time is past expiresAt', () => {
    const p = createVm(erin, { expiresAt: T0_MS });
    given().when(p, { consensusTimestamp: T0 }).thenMatch(accepted(p), {}, {}, {});
    given()
      .when(p, { consensusTimestamp: T0 + 1 })
      .thenRejected('EXPIRED');
  });

  it('EXPIRY_TOO_FAR beyond consensus time + maxPayloadTtlMs', () => {
    const edge = createVm(erin, { expiresAt: T0_MS + 3_600_000 });
    given().when(edge, { consensusTimestamp: T0 }).thenMatch(accepted(edge), {}, {}, {});
    given()
      .when(createVm(erin, { expiresAt: T0_MS + 3_600_001 }), { consensusTimestamp: T0 })
      .thenRejected('EXPIRY_TOO_FAR');
    given()
      .when(createVm(erin, { expiresAt: Number.MAX_SAFE_INTEGER }), { consensusTimestamp: T0 })
      .thenRejected('EXPIRY_TOO_FAR');
  });

  it('REPLAY for an id already ordered and not expired', () => {
    const p = createVm(erin);
    given(p).when(p).thenRejected('REPLAY');
  });

  it('a rejected payload is not remembered: the same bytes are judged again', () => {
    const p = erin.sign({ type: 'vm.stop', vmId: 'later' });
    given(p).when(p).thenRejected('VM_NOT_FOUND');
  });
});
