import { randomBytes } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { openPayloadBytes, signPayload } from '../../../domain/payloads/envelope.js';
import {
  JobItems,
  judgeItems,
  packItems,
  PayloadVerdicts,
  payloadSignature,
} from '../../../src/audit/verdicts.js';

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

/** Verifies the signature of `bytes` ahead of the order, as the audit's jobs do, and remembers it for these very bytes. */
function memoFor(bytes: Uint8Array): PayloadVerdicts {
  const memo = new PayloadVerdicts();
  const items = new JobItems();
  items.event(new Uint8Array(64), new Uint8Array(32), new Uint8Array(32), [bytes]);
  const { data, offsets, events } = items.pack();
  const verdicts = judgeItems(data, offsets);
  const item = items.payloadItems[0];
  if (item) memo.remember(items.payloads[0]!, item, verdicts[events] === 1);
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

  it('answers per event and per payload signature, as the strict verifier does', () => {
    const id = sha256(utf8.encode('event'));
    const sig = signer.sign(id);
    const bad = Uint8Array.from(sig);
    bad[3]! ^= 1;
    const items = new JobItems();
    items.event(sig, id, signer.publicKey, [good, forged(good)]);
    items.event(bad, id, signer.publicKey, []);
    items.event(sig, id, new Uint8Array(31), [utf8.encode('{"x":1}')]);
    expect(items.events).toBe(3);
    const { data, offsets, events } = items.pack();
    expect(events).toBe(3);
    // events, then payloads: good, forged, and one with no signature item (empty: 0)
    expect([...judgeItems(data, offsets)]).toEqual([1, 0, 0, 1, 0, 0]);
    expect(strictVerifier.verify(bad, id, signer.publicKey)).toBe(false);
    expect(items.payloadItems.map((i) => i !== null)).toEqual([true, true, false]);
  });

  it('signature items for the bound: one verdict each, as the strict verifier', () => {
    const g = payloadSignature(good)!;
    const f = payloadSignature(forged(good))!;
    const { data, offsets } = packItems([g, f, { ...g, publicKey: new Uint8Array(31) }]);
    expect([...judgeItems(data, offsets)]).toEqual([1, 0, 0]);
    expect(strictVerifier.verify(g.signature, g.message, g.publicKey)).toBe(true);
  });

  it.each(cases)(
    'opening with the memo answers what openPayloadBytes answers with the strict verifier: %s',
    (_, bytes, readable) => {
      expect(payloadSignature(bytes) !== null).toBe(readable);
      const memo = memoFor(bytes);
      expect(memo.open(bytes)).toEqual(openPayloadBytes(bytes, STRICT));
      // Only a readable envelope has a verdict ahead of the order.
      expect(memo.hits).toBe(readable ? 1 : 0);
      // Asked again, it verifies itself: a remembered verdict is used once.
      expect(memo.open(bytes)).toEqual(openPayloadBytes(bytes, STRICT));
      expect(memo.hits).toBe(readable ? 1 : 0);
    },
  );

  it('a verdict answers only the very signature, message and key it was computed for', () => {
    const memo = new PayloadVerdicts();
    const bytes = forged(good);
    // A (wrong) "valid" verdict remembered for these bytes, but for another payload's signature.
    memo.remember(bytes, payloadSignature(signed('other'))!, true);
    const opened = memo.open(bytes);
    expect(opened.ok).toBe(false);
    expect(opened).toEqual(openPayloadBytes(bytes, STRICT));
    expect(memo.hits).toBe(0);
    // For its own signature, the remembered verdict is what the processor sees.
    memo.remember(bytes, payloadSignature(bytes)!, true);
    expect(memo.open(bytes).ok).toBe(true);
    expect(memo.hits).toBe(1);
  });

  it('equal bytes in another array are verified, not taken from the memo', () => {
    const memo = memoFor(forged(good));
    expect(memo.open(forged(good))).toEqual(openPayloadBytes(forged(good), STRICT));
    expect(memo.open(good).ok).toBe(true);
    expect(memo.hits).toBe(0);
  });
});
