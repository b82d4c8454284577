import { randomBytes } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { openPayloadBytes, signPayload } from '../../../domain/payloads/envelope.js';
import {
  JobItems,
  judgeItems,
  judgeJob,
  OpenedMemo,
  packItems,
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

/** Opens `bytes` ahead of the order, as the audit's jobs do, and remembers the answer for these very bytes. */
function memoFor(bytes: Uint8Array): OpenedMemo {
  const memo = new OpenedMemo();
  const items = new JobItems();
  items.event(new Uint8Array(64), new Uint8Array(32), new Uint8Array(32), [bytes]);
  const answer = judgeJob(items.pack());
  memo.remember(items.payloads[0]!, answer.opened[0]!);
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

  it('answers per event, as the strict verifier does, and opens every payload of the job', () => {
    const id = sha256(utf8.encode('event'));
    const sig = signer.sign(id);
    const bad = Uint8Array.from(sig);
    bad[3]! ^= 1;
    const items = new JobItems();
    items.event(sig, id, signer.publicKey, [good, forged(good)]);
    items.event(bad, id, signer.publicKey, []);
    items.event(sig, id, new Uint8Array(31), [utf8.encode('{"x":1}')]);
    expect(items.events).toBe(3);
    const answer = judgeJob(items.pack());
    expect([...answer.verdicts]).toEqual([1, 0, 0]);
    expect(strictVerifier.verify(bad, id, signer.publicKey)).toBe(false);
    expect(answer.opened.map((o) => (o.ok ? 'ok' : o.error.code))).toEqual([
      'ok',
      'BAD_SIGNATURE',
      'INVALID_ENVELOPE',
    ]);
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
      expect(memo.hits).toBe(1);
      // Asked again, it opens them itself: a remembered answer is used once.
      expect(memo.open(bytes)).toEqual(openPayloadBytes(bytes, STRICT));
      expect(memo.hits).toBe(1);
    },
  );

  it('equal bytes in another array are opened, not taken from the memo', () => {
    const memo = memoFor(forged(good));
    expect(memo.open(forged(good))).toEqual(openPayloadBytes(forged(good), STRICT));
    expect(memo.open(good).ok).toBe(true);
    expect(memo.hits).toBe(0);
  });
});
