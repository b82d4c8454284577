import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { collect, ev, expectStoreError } from '../../contract/event-store.contract.js';

describe('SqliteEventStore.readAllPage', () => {
  let store: SqliteEventStore;
  beforeEach(async () => {
    store = new SqliteEventStore(':memory:');
    // Three streams interleaved, with metadata on some, so pages cut across streams.
    for (let i = 0; i < 40; i++)
      await store.append(
        `s${i % 3}`,
        [ev(`e${i}`, i % 4 === 0 ? { metadata: { i } } : {})],
        BigInt(Math.floor(i / 3) - 1),
      );
  });
  afterEach(() => store.close());

  test('answers what readAll yields for the same position and count', async () => {
    for (const after of [0n, 1n, 17n, 39n, 40n, 100n])
      for (const max of [0, 1, 7, 40, 1000])
        expect(await store.readAllPage(after, max)).toEqual(
          await collect(store.readAll({ after, maxCount: max })),
        );
  });

  test('pages read one after the other are the whole log in order', async () => {
    const paged = [];
    for (let after = 0n; ;) {
      const page = await store.readAllPage(after, 6);
      paged.push(...page);
      if (page.length < 6) break;
      after = page.at(-1)!.globalPosition;
    }
    expect(paged.map((e) => e.eventId)).toEqual(Array.from({ length: 40 }, (_, i) => `e${i}`));
    expect(paged[4]!.metadata).toEqual({ i: 4 });
  });

  test('checks its arguments and the store being open as readAll does', async () => {
    await expectStoreError(store.readAllPage(-1n, 5), 'BAD_REQUEST');
    await expectStoreError(store.readAllPage(0n, 1.5), 'BAD_REQUEST');
    await store.close();
    await expectStoreError(store.readAllPage(0n, 5), 'STORE_UNAVAILABLE');
  });
});
