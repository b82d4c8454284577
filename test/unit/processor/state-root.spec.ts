import canonicalize from 'canonicalize';
import fc from 'fast-check';
import {
  bucketOf,
  encodeRow,
  initialState,
  jcs,
  stateRoot,
  stateRootFromScratch,
} from '../../../domain/processor/index.js';
import { config, hash } from './kit.js';

const stateValue = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.string({ unit: 'grapheme' }),
    fc.maxSafeInteger(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ unit: 'grapheme' }), tie('value'), { maxKeys: 4 }),
  ),
})).value;

describe('state encoding and root', () => {
  it('jcs equals canonicalize (RFC 8785) on strings, safe integers, booleans, null, arrays and objects', () => {
    fc.assert(
      fc.property(stateValue, (v) => {
        expect(jcs(v)).toBe(canonicalize(v));
      }),
      { numRuns: 500 },
    );
    expect(encodeRow('k', { b: 1, a: [true, null] })).toBe('["k",{"a":[true,null],"b":1}]');
  });

  it('jcs sorts each object by its own keys when many key lists share a first key', () => {
    // Objects of one kind are encoded by a remembered key order: one that starts like another
    // (same first key, more, fewer or other keys after it) must not be encoded in the other's.
    const keyed = fc
      .uniqueArray(fc.constantFrom('b', 'c', 'a', 'd', 'é', 'B', '10', 'x'), { maxLength: 7 })
      .map((rest) => Object.fromEntries([['m', 0], ...rest.map((k, i) => [k, i + 1])]) as object);
    fc.assert(
      fc.property(fc.array(keyed, { minLength: 1, maxLength: 30 }), (objects) => {
        for (const o of objects) expect(jcs(o)).toBe(canonicalize(o));
      }),
      { numRuns: 200 },
    );
  });

  it('refuses anything that is not integer-only JSON', () => {
    expect(() => jcs(1.5)).toThrow(TypeError);
    expect(() => jcs(2 ** 53)).toThrow(TypeError);
    expect(() => jcs({ a: undefined })).toThrow(TypeError);
    expect(jcs(-0)).toBe('0');
  });

  it('any change to any row changes the root; undoing it restores the root', () => {
    const state = initialState(config);
    const before = stateRoot(state, hash);
    state.seen.set('ab'.repeat(32), 1);
    const one = stateRoot(state, hash);
    expect(one).not.toBe(before);
    state.seen.set('ab'.repeat(32), 2);
    expect(stateRoot(state, hash)).not.toBe(one);
    state.seen.delete('ab'.repeat(32));
    expect(stateRoot(state, hash)).toBe(before);
    state.round.value = 7;
    expect(stateRoot(state, hash)).not.toBe(before);
    expect(stateRootFromScratch(state, hash)).toBe(stateRoot(state, hash));
  });

  it('the incremental root equals the root from scratch after any sequence of changes, with any hash port', () => {
    // A port that answers a repeated call on the same array from memory (the node's remembers
    // its last call): it may, since the bytes a port is given must never change afterwards.
    const rememberingHash = () => {
      const known = new WeakMap<Uint8Array, Uint8Array>();
      return (data: Uint8Array) => {
        let digest = known.get(data);
        if (!digest) known.set(data, (digest = hash(data)));
        return digest;
      };
    };
    // A port that keeps every array it is given with a copy, to check later that none changed.
    const keepingHash = () => {
      const given: [Uint8Array, Uint8Array][] = [];
      const port = (data: Uint8Array) => {
        given.push([data, data.slice()]);
        return hash(data);
      };
      const changed = () => given.filter(([data, copy]) => !Buffer.from(data).equals(copy)).length;
      return { port, changed };
    };
    // Digests of 1 to 32 bytes, so children's entries in a node differ in length and move.
    const unevenHash = (data: Uint8Array) => {
      const digest = hash(data);
      return digest.subarray(0, 1 + (digest[0]! % 32));
    };
    const change = fc.record({
      table: fc.constantFrom('seen' as const, 'accounts' as const, 'members' as const),
      key: fc.integer({ min: 0, max: 600 }).map((i) => `key-${i}`),
      value: fc.option(fc.nat(3), { nil: undefined }),
    });
    fc.assert(
      fc.property(
        fc.array(fc.array(change, { maxLength: 40 }), { minLength: 1, maxLength: 12 }),
        (rounds) => {
          const plain = initialState(config);
          const remembered = initialState(config);
          const kept = initialState(config);
          const uneven = initialState(config);
          const remembering = rememberingHash();
          const keeping = keepingHash();
          rounds.forEach((changes, r) => {
            for (const state of [plain, remembered, kept, uneven]) {
              for (const c of changes) {
                const table = state[c.table] as unknown as {
                  set(k: string, v: unknown): void;
                  delete(k: string): void;
                };
                if (c.value === undefined) table.delete(c.key);
                else if (c.table === 'seen') table.set(c.key, c.value);
                else if (c.table === 'accounts') table.set(c.key, { vms: c.value, vcpus: 1 });
                // Long rows too: up to 18,000 characters, more than one arena chunk holds.
                else
                  table.set(c.key, {
                    stake: c.value,
                    endpoint: 'e'.repeat(6000 * c.value),
                    since: 0,
                    until: null,
                  });
              }
              state.round.value = r;
            }
            const root = stateRoot(plain, hash);
            expect(root).toBe(stateRootFromScratch(plain, hash));
            expect(stateRoot(remembered, remembering)).toBe(root);
            expect(stateRoot(kept, keeping.port)).toBe(root);
            expect(stateRoot(uneven, unevenHash)).toBe(stateRootFromScratch(uneven, unevenHash));
          });
          expect(keeping.changed()).toBe(0);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('rows that share a bucket are kept sorted within it', () => {
    const keys: string[] = [];
    for (let i = 0; keys.length < 3; i++) if (bucketOf(`k${i}`, 1) === bucketOf('k0', 1)) keys.push(`k${i}`);
    const a = initialState(config);
    const b = initialState(config);
    for (const k of keys) a.seen.set(k, 1);
    for (const k of [...keys].reverse()) b.seen.set(k, 1);
    expect(stateRoot(a, hash)).toBe(stateRoot(b, hash));
    expect(stateRootFromScratch(a, hash)).toBe(stateRoot(a, hash));
  });
});
