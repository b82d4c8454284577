import { EventStoreDbEventStore } from '../../../src/eventstore/eventstoredb-event-store.js';
import {
  collect,
  describeEventStoreContract,
  ev,
  expectStoreError,
} from '../../contract/event-store.contract.js';

/**
 * The contract against a real EventStoreDB/KurrentDB 20+ server, only when EVENTSTORE_URL names one
 * (e.g. esdb://localhost:2113?tls=false). Without it the contract is not registered at all, and the
 * run says so; the tests below, which need no server, always run.
 */
const url = process.env.EVENTSTORE_URL;

if (url === undefined || url === '') {
  console.info(
    'EventStoreDB contract: not run, EVENTSTORE_URL is not set (e.g. EVENTSTORE_URL=esdb://localhost:2113?tls=false)',
  );
} else {
  describeEventStoreContract(
    `EventStoreDB at ${url}`,
    async () => ({
      store: await EventStoreDbEventStore.open(url),
      openPeer: () => EventStoreDbEventStore.open(url),
    }),
    { peers: true, peerLatencyMs: 2000, timeoutMs: 60_000 },
  );
}

describe('EventStoreDbEventStore without a server', () => {
  const unreachable = 'esdb://127.0.0.1:1?tls=false';

  test('a malformed URL is BAD_REQUEST', async () => {
    await expectStoreError(EventStoreDbEventStore.open('esdb://'), 'BAD_REQUEST');
  });

  test('an unreachable server makes every call fail with STORE_UNAVAILABLE, subscriptions included', async () => {
    const store = await EventStoreDbEventStore.open(unreachable);
    try {
      await expectStoreError(store.streamRevision('s'), 'STORE_UNAVAILABLE');
      await expectStoreError(store.append('s', [ev('a')], 'any'), 'STORE_UNAVAILABLE');
      await expectStoreError(collect(store.readStream('s')), 'STORE_UNAVAILABLE');
      await expectStoreError(collect(store.readAll()), 'STORE_UNAVAILABLE');
      const errors: unknown[] = [];
      const sub = store.subscribeToAll('start', {
        onEvent: () => undefined,
        onError: (e) => void errors.push(e),
      });
      await expectStoreError(sub.caughtUp, 'STORE_UNAVAILABLE');
      expect(errors).toEqual([expect.objectContaining({ code: 'STORE_UNAVAILABLE' })]);
    } finally {
      await store.close();
    }
  });

  test('read-only and malformed requests are refused before any I/O', async () => {
    const store = await EventStoreDbEventStore.open(unreachable, { readOnly: true });
    try {
      await expectStoreError(store.append('s', [ev('a')], 'any'), 'BAD_REQUEST');
      await expectStoreError(store.append('$s', [ev('a')], 'any'), 'BAD_REQUEST');
      await expectStoreError(collect(store.readAll({ after: -1n })), 'BAD_REQUEST');
    } finally {
      await store.close();
    }
    await expectStoreError(store.streamRevision('s'), 'STORE_UNAVAILABLE');
  });
});
