import { sha256, signerFromSecretKey, toHex } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/index.js';
import type { OrderedEvent } from '../../../domain/shadowgraph/hashgraph.js';
import { makeGenesis } from '../../../src/node/genesis.js';
import { LedgerDriver } from '../../../src/node/ledger-driver.js';

/** The ledger a node derives must not depend on which payloads its own API judged first. */
describe('LedgerDriver', () => {
  const secrets = [0, 1, 2, 3].map((i) => sha256(new TextEncoder().encode(`driver:${i}`)));
  const { genesis } = makeGenesis('driver', secrets, (i) => `http://127.0.0.1:${6000 + i}`);
  const now = 1_800_000_000_000;

  const payloads = (): Uint8Array[] => {
    const out: Uint8Array[] = [];
    for (let i = 0; i < 40; i++) {
      const signer = signerFromSecretKey(sha256(new TextEncoder().encode(`tenant:${i % 5}`)));
      const { bytes } = signPayload(
        {
          type: 'vm.create',
          nonce: `nonce-${String(i).padStart(4, '0')}`,
          expiresAt: now + 60_000,
          vmId: `vm-${i}`,
          name: `vm-${i}`,
          vcpus: 1,
          memoryMiB: 64,
          diskGiB: 1,
        },
        signer,
        sha256,
      );
      if (i % 7 === 3) {
        // A tampered copy: same signature, another field; the API would have refused it.
        const text = new TextDecoder().decode(bytes).replace('"vcpus":1', '"vcpus":2');
        out.push(new TextEncoder().encode(text));
      } else out.push(bytes);
    }
    return out;
  };

  const ordered = (all: Uint8Array[]): OrderedEvent[] =>
    all.map(
      (p, i) =>
        ({
          event: { body: { payloads: [p] } },
          round: 1,
          roundReceived: 1,
          consensusIndex: i,
          consensusTimestamp: now * 1000 + i,
        }) as unknown as OrderedEvent,
    );

  it('derives the same ledger and root whether or not the API judged some payloads first', () => {
    const all = payloads();
    const plain = new LedgerDriver(genesis);
    plain.onRound(1, ordered(all));
    const judged = new LedgerDriver(genesis);
    // The API judged (and published) every other good envelope.
    judged.judgedByApi(all.filter((_, i) => i % 7 !== 3 && i % 2 === 0).map((p) => toHex(sha256(p))));
    judged.onRound(1, ordered(all));
    const a = plain.drain();
    const b = judged.drain();
    expect(b).toEqual(a);
    expect(toHex(judged.latestRoot()!.root)).toBe(toHex(plain.latestRoot()!.root));
    const rejected = a.filter((r) => r.event.type === 'PayloadRejected');
    expect(rejected.length).toBe(all.filter((_, i) => i % 7 === 3).length);
    expect(
      rejected.every((r) => r.event.type === 'PayloadRejected' && r.event.code === 'BAD_SIGNATURE'),
    ).toBe(true);
  });
});
