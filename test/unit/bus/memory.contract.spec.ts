import { MemoryBroker, MemoryCommsBus } from '../../../src/bus/memory-bus.js';
import { describeCommsBusContract } from '../../contract/comms-bus.contract.js';

const broker = new MemoryBroker();

describeCommsBusContract('memory', (settings) => new MemoryCommsBus({ ...settings, broker }), {
  waitMs: 10_000,
  testTimeoutMs: 30_000,
  quietMs: 200,
});
