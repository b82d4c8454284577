import { readFileSync } from 'node:fs';
import { sha256, signerFromSecretKey, toHex } from '../../domain/crypto/index.js';
import { assembleEvent, decodeEvent } from '../../domain/shadowgraph/event.js';
import { chainOrderHash, ORDER_HASH_GENESIS, OrderHashChain } from './order-hash.js';

const EVENT_HEX =
  '4447455601008a88e3dd7409f195fd52db2d3cba5d72ca6709bf1d94121bf3748801b40f6f5c000000000000000000000000000f4240' +
  '00000000010000000568656c6c6f7174783fcee57f3f29d77664d7e827fefe8ea2e17b2528f7b6030c62217a6519c52737964946a4c0' +
  '75b916a790bf07a90366673f0fb5b22a32555e71ed27990e';
const ID_HEX = 'b134faa7122a2f08561e88898371857ecb8a62bf4400d2426b0918fcb44b4944';

describe('docs/shadowgraph-encoding.md test vector', () => {
  const signer = signerFromSecretKey(new Uint8Array(32).fill(1));

  it('is what assembleEvent produces', () => {
    const e = assembleEvent(
      {
        creator: signer.publicKey,
        seq: 0,
        selfParent: null,
        otherParent: null,
        timestamp: 1_000_000,
        payloads: [new TextEncoder().encode('hello')],
        stateRoot: new Uint8Array(0),
      },
      (id) => signer.sign(id),
      sha256,
    );
    expect(toHex(e.bytes)).toBe(EVENT_HEX);
    expect(e.idHex).toBe(ID_HEX);
  });

  it('decodes back, and the document quotes the same bytes', () => {
    const e = decodeEvent(Buffer.from(EVENT_HEX, 'hex'), sha256);
    expect(e.idHex).toBe(ID_HEX);
    expect(e.body.timestamp).toBe(1_000_000);
    const doc = readFileSync(new URL('../../docs/shadowgraph-encoding.md', import.meta.url), 'utf8');
    const start = doc.indexOf('event     ');
    const block = doc.slice(start, doc.indexOf('id        ', start));
    expect(block.replace(/event|\s/g, '')).toBe(EVENT_HEX);
    expect(doc).toContain(ID_HEX);
  });
});

describe('order hash', () => {
  it('chains sha256(previous ‖ id) from 32 zero bytes and remembers a window of history', () => {
    const chain = new OrderHashChain(4);
    expect(chain.at(0)).toBe('00'.repeat(32));
    const ids = [1, 2, 3, 4, 5, 6].map((b) => new Uint8Array(32).fill(b));
    let h = ORDER_HASH_GENESIS;
    for (const id of ids) {
      chain.append(id);
      h = chainOrderHash(h, id);
    }
    expect(chain.length).toBe(6);
    expect(chain.head).toBe(toHex(h));
    expect(chain.at(6)).toBe(toHex(h));
    expect(chain.at(1)).toBeUndefined();
    expect(chain.at(7)).toBeUndefined();
    expect(chain.at(3)).toBe(
      toHex(chainOrderHash(chainOrderHash(chainOrderHash(ORDER_HASH_GENESIS, ids[0]!), ids[1]!), ids[2]!)),
    );
  });
});
