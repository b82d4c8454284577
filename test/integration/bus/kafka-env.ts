/** Shared set-up of the Kafka integration suites: the broker address, a reachability check, cleanup. */
import { connect } from 'node:net';
import { KafkaCommsBus, type KafkaBusLogEntry, type KafkaBusOptions } from '../../../src/bus/kafka-bus.js';
import { kafkaBrokersFromEnv } from '../../../src/bus/open.js';

export const brokers = kafkaBrokersFromEnv();

/** Fails (never skips) when the broker does not accept a TCP connection within timeoutMs. */
export async function assertBrokerReachable(timeoutMs = 5_000): Promise<void> {
  const [host, port] = splitHostPort(brokers[0]!);
  await new Promise<void>((resolve, reject) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => fail(new Error('timed out')), timeoutMs);
    function fail(e: Error): void {
      clearTimeout(timer);
      socket.destroy();
      reject(
        new Error(
          `Kafka broker ${host}:${port} is unreachable (${e.message}); start it with \`npm run services:up\``,
        ),
      );
    }
    socket.once('error', fail);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.end();
      resolve();
    });
  });
}

function splitHostPort(address: string): [string, number] {
  const i = address.lastIndexOf(':');
  return [address.slice(0, i), Number(address.slice(i + 1))];
}

export function kafkaBus(options: Partial<KafkaBusOptions> = {}, logs?: KafkaBusLogEntry[]): KafkaCommsBus {
  return new KafkaCommsBus({
    brokers,
    clientId: 'dagger-bus-tests',
    logLevel: logs ? 'warn' : 'nothing',
    ...(logs ? { log: (e: KafkaBusLogEntry) => void logs.push(e) } : {}),
    ...options,
  });
}

/** Deletes the groups and topics a suite used (groups first: they must be empty). */
export async function deleteTestResources(used: {
  readonly topics: string[];
  readonly groups: string[];
}): Promise<void> {
  const admin = kafkaBus();
  try {
    await admin.deleteGroups(used.groups).catch(() => undefined);
    await admin.deleteTopics(used.topics);
  } finally {
    await admin.close();
  }
}
