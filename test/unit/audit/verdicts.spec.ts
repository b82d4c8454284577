import { randomBytes } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier } from '../../../domain/crypto/index.js';
import { openPayloadBytes, signPayload } from '../../../domain/payloads/envelope.js';
import {
  AMBIGUOUS,
  ItemBatch,
  judgeItems,
  NOT_REACHED,
  openWithVerdict,
} from '../../../src/audit/verdicts.js';

const signer = signerFromSecretKey(new Uint8Array(randomBytes(32)));
const utf8 = new TextEncoder();

function signed(vmId: string): Uint8Array {
  return signPayload(
    {
      type: 'vm.create',
      nonce: 'nonce-' + vmId + '-0000',
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

/** The same envelope, its signature's first hex digit changed: canonical, but it does not verify. */
function forged(bytes: Uint8Array): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  const at = text.indexOf('"signature":"') + '"signature":"'.length;
  return utf8.encode(text.slice(0, at) + (text[at] === '0' ? '1' : '0') + text.slice(at + 1));
}

describe('audit verdicts', () => {
  const good = signed('a');
  const cases: [string, Uint8Array][] = [
    ['a valid envelope', good],
    ['a forged signature', forged(good)],
    ['not JSON', utf8.encode('{"payload":')],
    ['not an envelope', utf8.encode('{"x":1}')],
    ['not canonical', utf8.encode(' ' + new TextDecoder().decode(signed('b')))],
  ];

  it('answers per item, events first, as the strict verifier does', () => {
    const id = sha256(utf8.encode('event'));
    const sig = signer.sign(id);
    const bad = Uint8Array.from(sig);
    bad[3]! ^= 1;
    const items = new ItemBatch();
    for (const [, bytes] of cases) items.payload(bytes);
    items.event(sig, id, signer.publicKey);
    items.event(bad, id, signer.publicKey);
    const { data, offsets } = items.pack();
    const verdicts = judgeItems(data, offsets);
    expect([...verdicts]).toEqual([1, 0, 1, 0, NOT_REACHED, NOT_REACHED, 1]);
    expect(strictVerifier.verify(bad, id, signer.publicKey)).toBe(false);
  });

  it.each(cases)(
    'opening with the precomputed verdict answers what openPayloadBytes answers: %s',
    (_, bytes) => {
      const items = new ItemBatch();
      items.payload(bytes);
      const { data, offsets } = items.pack();
      const [verdict] = judgeItems(data, offsets);
      expect(verdict).not.toBe(AMBIGUOUS);
      expect(openWithVerdict(bytes, verdict)).toEqual(
        openPayloadBytes(bytes, { verify: strictVerifier, hash: sha256 }),
      );
      // Without a verdict it opens with the strict verifier itself.
      expect(openWithVerdict(bytes, undefined)).toEqual(
        openPayloadBytes(bytes, { verify: strictVerifier, hash: sha256 }),
      );
    },
  );
});
