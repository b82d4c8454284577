import { randomBytes } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { openPayloadBytes, signPayload } from '../../../domain/payloads/envelope.js';
import { ItemBatch, judgeItems, payloadSignature, VerdictMemo } from '../../../src/audit/verdicts.js';

const signer = signerFromSecretKey(new Uint8Array(randomBytes(32)));
const utf8 = new TextEncoder();
const STRICT = { verify: strictVerifier, hash: sha256 };

function signed(vmId: string): Uint8Array {
  return signPayload(
    {
      type: 'vm.create',
      nonce: `nonce-${vmId}-0000`,
      expiresAt: 1_900_000_000_000,
      vmId,
      name: vmId,
      vcpus: 1,
      memoryMiB: 256,
      diskGiB: 5,
    },
    signer,
    sha256,
  ).bytes;
}

/** The same envelope with one hex digit of its signature changed: canonical, but it does not verify. */
function forged(bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  const at = text.indexOf('"signature":"') + '"signature":"'.length + 5;
  return utf8.encode(text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
}

/** Judges the signature read off `bytes` as the audit does ahead of the order, and remembers it. */
function memoFor(bytes: Uint8Array): VerdictMemo {
  const memo = new VerdictMemo();
  const s = payloadSignature(bytes);
  if (s) {
    const items = new ItemBatch();
    const item = items.payload(s.signature, s.message, s.publicKey);
    const { data, offsets } = items.pack();
    memo.remember(item, judgeItems(data, offsets)[0]!);
  }
  return memo;
}

describe('audit verdicts', () => {
  const good = signed('a');
  const cases: [string, Uint8Array, boolean][] = [
    ['a valid envelope', good, true],
    ['a forged signature', forged(good), true],
    ['not JSON', utf8.encode('{"payload":'), false],
    ['not an envelope', utf8.encode('{"x":1}'), false],
    ['not canonical (a leading space)', utf8.encode(' ' + new TextDecoder().decode(signed('b'))), false],
    [
      'keys out of order',
      utf8.encode(new TextDecoder().decode(signed('c')).replace('{"payload":', '{ "payload":')),
      false,
    ],
  ];

  it('answers per item, events first, as the strict verifier does', () => {
    const id = sha256(utf8.encode('event'));
    const sig = signer.sign(id);
    const bad = Uint8Array.from(sig);
    bad[3]! ^= 1;
    const items = new ItemBatch();
    const g = payloadSignature(good)!;
    const f = payloadSignature(forged(good))!;
    items.payload(g.signature, g.message, g.publicKey);
    items.event(sig, id, signer.publicKey);
    items.payload(f.signature, f.message, f.publicKey);
    items.event(bad, id, signer.publicKey);
    const { data, offsets } = items.pack();
    expect([...judgeItems(data, offsets)]).toEqual([1, 0, 1, 0]);
    expect(strictVerifier.verify(bad, id, signer.publicKey)).toBe(false);
  });

  it.each(cases)(
    'opening with the memo answers what openPayloadBytes answers with the strict verifier: %s',
    (_, bytes, readable) => {
      expect(payloadSignature(bytes) !== null).toBe(readable);
      const memo = memoFor(bytes);
      expect(openPayloadBytes(bytes, { verify: memo, hash: sha256 })).toEqual(
        openPayloadBytes(bytes, STRICT),
      );
      if (readable) expect(memo.hits).toBe(1);
      // Asked again, it verifies: a remembered answer is used once.
      expect(openPayloadBytes(bytes, { verify: memo, hash: sha256 })).toEqual(
        openPayloadBytes(bytes, STRICT),
      );
      expect(memo.hits).toBe(readable ? 1 : 0);
    },
  );

  it('a question it was not asked ahead of time is verified, not guessed', () => {
    const memo = memoFor(forged(good));
    expect(openPayloadBytes(good, { verify: memo, hash: sha256 }).ok).toBe(true);
    expect(memo.hits).toBe(0);
  });
});
