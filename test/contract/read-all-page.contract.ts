import type { EventStore, PagedEventLog } from '../../src/eventstore/event-store.js';
import { collect, ev, expectStoreError } from './event-store.contract.js';

/** What every PagedEventLog answers: readAllPage is readAll in one array, with its errors. */
export function describeReadAllPageContract(
  name: string,
  open: () => Promise<EventStore & PagedEventLog>,
): void {
  describe(`${name}: readAllPage`, () => {
    let store: EventStore & PagedEventLog;
    beforeEach(async () => {
      store = await open();
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
      const first = (await store.readAllPage(0n, 1))[0]!.globalPosition;
      for (const after of [0n, first, first + 16n, first + 38n, first + 39n, first + 100n])
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
}
