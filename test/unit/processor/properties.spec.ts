import fc from 'fast-check';
import {
  initialState,
  PayloadProcessor,
  stateRoot,
  stateRootFromScratch,
  type Table,
} from '../../../domain/processor/index.js';
import { config, hash, ports } from './kit.js';
import { execute, scenarioArb } from './run.js';

const actions = scenarioArb;
const RUNS = 60;

describe('properties', () => {
  it('the same ordered payloads always give the same ledger and root', () => {
    fc.assert(
      fc.property(actions, (as) => {
        const run = execute(as);
        const again = new PayloadProcessor(config, ports);
        const records = run.batches.flatMap((b) => again.processRound(b.round, b.events, b.close).records);
        expect(records).toEqual(run.records);
        expect(again.root()).toBe(run.processor.root());
      }),
      { numRuns: RUNS },
    );
  });

  it('a rejected payload never changes the root', () => {
    fc.assert(
      fc.property(actions, (as) => {
        for (const [before, after] of execute(as).rejectedRootPairs) expect(after).toBe(before);
      }),
      { numRuns: RUNS },
    );
  });

  it('replaying the ledger with evolve() alone rebuilds the state and every root', () => {
    fc.assert(
      fc.property(actions, (as) => {
        const run = execute(as);
        const replayed = PayloadProcessor.replay(config, run.records, ports, { checkRoots: true });
        expect(replayed.root()).toBe(run.processor.root());
        expect(replayed.nextLedgerIndex).toBe(run.records.length);
      }),
      { numRuns: RUNS },
    );
  });

  it('the cached root equals the root from scratch, and neither depends on insertion order', () => {
    fc.assert(
      fc.property(actions, fc.integer(), (as, seed) => {
        const { processor } = execute(as);
        const state = processor.state;
        expect(stateRootFromScratch(state, hash)).toBe(processor.root());
        const copy = initialState(config);
        copy.round.value = state.round.value;
        for (const name of ['vms', 'hosts', 'members', 'proposals', 'accounts', 'seen'] as const) {
          const from = state[name] as Table<unknown>;
          const to = copy[name] as Table<unknown>;
          for (const key of to.sortedKeys()) to.delete(key);
          const keys = from.sortedKeys();
          // A deterministic shuffle of the insertion order.
          const order = keys
            .map((k, i) => [((i + 1) * (seed | 1)) >>> 0, k] as const)
            .sort((x, y) => x[0] - y[0]);
          for (const [, key] of order) to.set(key, from.get(key));
        }
        expect(stateRoot(copy, hash)).toBe(processor.root());
      }),
      { numRuns: RUNS },
    );
  });

  it('keeps its books: host usage and account usage equal the sums over VMs', () => {
    fc.assert(
      fc.property(actions, (as) => {
        const state = execute(as).processor.state;
        const used = new Map<string, number[]>();
        const accounts = new Map<string, number[]>();
        for (const key of state.vms.sortedKeys()) {
          const vm = state.vms.get(key)!;
          if (vm.hostId !== null && vm.reserved) {
            const u = used.get(vm.hostId) ?? [0, 0, 0];
            used.set(vm.hostId, [
              u[0]! + vm.reserved.vcpus,
              u[1]! + vm.reserved.memoryMiB,
              u[2]! + vm.reserved.diskGiB,
            ]);
          }
          expect(vm.hostId === null).toBe(vm.reserved === null);
          if (vm.status !== 'destroyed') {
            const a = accounts.get(vm.owner) ?? [0, 0];
            accounts.set(vm.owner, [a[0]! + 1, a[1]! + vm.spec.vcpus]);
          }
          expect(state.blocked.has(key)).toBe(vm.status === 'blocked' && vm.awaitsCapacity);
          expect(state.openOperations.get(key) ?? null).toBe(vm.deadline);
        }
        for (const hostId of state.hosts.sortedKeys()) {
          const h = state.hosts.get(hostId)!;
          expect([h.used.vcpus, h.used.memoryMiB, h.used.diskGiB]).toEqual(used.get(hostId) ?? [0, 0, 0]);
          expect(h.used.vcpus).toBeLessThanOrEqual(h.capacity.vcpus);
          expect(h.used.memoryMiB).toBeLessThanOrEqual(h.capacity.memoryMiB);
        }
        for (const owner of state.accounts.sortedKeys()) {
          const a = state.accounts.get(owner)!;
          expect([a.vms, a.vcpus]).toEqual(accounts.get(owner));
        }
        expect(state.accounts.size).toBe(accounts.size);
      }),
      { numRuns: RUNS },
    );
  });
});
