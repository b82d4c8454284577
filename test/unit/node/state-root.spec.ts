import { jest } from '@jest/globals';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sha256 } from '../../../domain/crypto/index.js';
import { MemoryBroker, MemoryCommsBus } from '../../../src/bus/memory-bus.js';
import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { makeGenesis } from '../../../src/node/genesis.js';
import {
  decodeRoundRoot,
  encodeRoundRoot,
  type LedgerPort,
  NodeRuntime,
} from '../../../src/node/node-runtime.js';
import { FAST, until } from './support.js';

/**
 * Nodes carry their latest state root in their events; a node that sees a peer's root differ from
 * its own for a round it decided reports it. Here the ledger ports are stand-ins whose roots are
 * chosen per node, so a divergence can be staged.
 */
jest.setTimeout(60_000);

function fixedRoots(rootOf: (round: number) => Uint8Array, members: string[]): LedgerPort {
  let latest: { round: number; root: Uint8Array } | null = null;
  const roots = new Map<number, Uint8Array>();
  return {
    onRound(round) {
      latest = { round, root: rootOf(round) };
      roots.set(round, latest.root);
      return [];
    },
    drain: () => [],
    latestRoot: () => latest,
    rootOf: (round) => roots.get(round),
    operators: () => members,
    memberSince: (key) => (members.includes(key) ? 0 : null),
  };
}

async function run(diverge: boolean): Promise<NodeRuntime[]> {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-roots-'));
  const secrets = [0, 1, 2, 3].map((i) => sha256(new TextEncoder().encode(`roots:${i}`)));
  const { genesis, keys } = makeGenesis('roots', secrets, (i) => `http://127.0.0.1:${5000 + i}`, FAST);
  const members = keys.map((k) => k.publicKey);
  const broker = new MemoryBroker();
  const runtimes: NodeRuntime[] = [];
  for (let i = 0; i < 4; i++) {
    const odd = diverge && i === 3;
    const ledger = fixedRoots(
      (round) => sha256(new TextEncoder().encode(`${odd ? 'odd' : 'root'}:${round}`)),
      members,
    );
    const runtime = new NodeRuntime({
      genesis,
      key: keys[i]!,
      store: new SqliteEventStore(join(dir, `node-${i}.sqlite`)),
      bus: new MemoryCommsBus({ broker }),
      ledger,
      tickMs: 2,
      syncMs: 200,
    });
    await runtime.start();
    runtimes.push(runtime);
  }
  await until(() => Math.min(...runtimes.map((r) => r.lastDecidedRound())) >= 12, 30_000);
  for (const r of runtimes) await r.stop();
  return runtimes;
}

describe('state roots carried in events', () => {
  it('encodes the round and the root, and refuses anything else', () => {
    const root = sha256(new Uint8Array([1]));
    expect(decodeRoundRoot(encodeRoundRoot(42, root))).toEqual({ round: 42, root });
    expect(decodeRoundRoot(new Uint8Array(0))).toBeNull();
    expect(decodeRoundRoot(new Uint8Array(39))).toBeNull();
  });

  it('reports nothing while every node computes the same roots', async () => {
    const runtimes = await run(false);
    expect(runtimes.every((r) => r.lastDecidedRound() >= 12)).toBe(true);
    expect(runtimes.map((r) => r.stats.stateRootMismatches)).toEqual([0, 0, 0, 0]);
    expect(runtimes[0]!.head().stateRoot).toMatch(/^[0-9a-f]{64}$/);
  });

  it('reports a peer whose root differs for a round it decided, naming the peer and the round', async () => {
    const runtimes = await run(true);
    const honest = runtimes.slice(0, 3);
    expect(honest.every((r) => r.stats.stateRootMismatches > 0)).toBe(true);
    const odd = runtimes[3]!.self;
    for (const r of honest) expect(r.lastRootMismatch?.creator).toBe(odd);
    // The odd node sees every peer differ from itself.
    expect(runtimes[3]!.stats.stateRootMismatches).toBeGreaterThan(0);
    expect(runtimes[3]!.lastRootMismatch?.creator).not.toBe(odd);
  });
});
