import { SqliteEventStore } from '../../../src/eventstore/sqlite-event-store.js';
import { describeReadAllPageContract } from '../../contract/read-all-page.contract.js';

describeReadAllPageContract('SqliteEventStore', async () => new SqliteEventStore(':memory:'));
