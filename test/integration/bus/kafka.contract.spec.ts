import { afterAll, beforeAll } from '@jest/globals';
import type { KafkaBusLogEntry } from '../../../src/bus/kafka-bus.js';
import { describeCommsBusContract } from '../../contract/comms-bus.contract.js';
import { assertBrokerReachable, deleteTestResources, kafkaBus } from './kafka-env.js';

const logs: KafkaBusLogEntry[] = [];
afterAll(() => {
  if (process.env.BUS_TEST_LOGS)
    for (const l of logs) process.stdout.write(JSON.stringify(l).slice(0, 400) + '\n');
});

beforeAll(() => assertBrokerReachable());

describeCommsBusContract('kafka', (settings) => kafkaBus(settings, logs), {
  waitMs: 60_000,
  testTimeoutMs: 180_000,
  cleanup: deleteTestResources,
  report: (line) => {
    const errors = logs.filter((l) => l.level === 'ERROR').length;
    process.stdout.write(`${line}; kafkajs logged ${logs.length} warnings/errors (${errors} errors)\n`);
  },
});
