import { EventStoreDbEventStore } from '../../../src/eventstore/eventstoredb-event-store.js';
import { describeEventStoreContract } from '../../contract/event-store.contract.js';
import { FakeEsdb } from './fake-esdb-client.js';

// The adapter's logic over an in-memory stand-in for the gRPC client (see fake-esdb-client.ts).
// This is not an EventStoreDB run: that one is test/integration/eventstore/eventstoredb.contract.spec.ts.
describeEventStoreContract(
  'EventStoreDB adapter over an in-memory fake client (no server)',
  async () => {
    const fake = new FakeEsdb();
    return {
      store: EventStoreDbEventStore.fromClient(fake.client()),
      openPeer: async () => EventStoreDbEventStore.fromClient(fake.client()),
      dispose: async () => {
        if (fake.openSubscriptions !== 0)
          throw new Error(`${fake.openSubscriptions} subscriptions left open`);
      },
    };
  },
  { peers: true, peerLatencyMs: 500 },
);
