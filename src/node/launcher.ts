import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { createNodeApp } from '../api/app.js';
import type { CommsBus } from '../bus/comms-bus.js';
import { openCommsBus } from '../bus/open.js';
import type { EventStore } from '../eventstore/event-store.js';
import { openEventStore } from '../eventstore/open.js';
import { SqliteWriterThread } from '../eventstore/sqlite-writer.js';
import { openReadModels, type ReadModels, type ReadModelsTarget } from '../../projections/index.js';
import {
  type ApplierFor,
  appliersFor,
  type ProvisioningConfig,
  ProvisioningSaga,
} from '../provisioning/index.js';
import { type Genesis, networkPrefix, type NodeKey, parseGenesis, readModelsConfigOf } from './genesis.js';
import { EventStoreIntakeOutbox } from './intake-outbox.js';
import { LedgerDriver } from './ledger-driver.js';
import { NodeRuntime } from './node-runtime.js';
import { ProjectionRunner } from './projection-runner.js';

/** `dagger node --config FILE`: everything one node needs, paths relative to the config file. */
export interface NodeConfig {
  readonly genesis: string;
  readonly key: string;
  readonly dataDir: string;
  /** judgeThreads: worker threads judging request bodies (default 1; 0: on the event loop). */
  readonly api: { readonly host: string; readonly port: number; readonly judgeThreads?: number };
  readonly store: { readonly kind: 'sqlite' | 'postgres' | 'eventstoredb'; readonly url?: string };
  readonly bus: { readonly kind: 'memory' | 'kafka'; readonly brokers?: readonly string[] };
  /** Optional: where plans go and which libvirt to apply them to. */
  readonly provisioning?: ProvisioningConfig;
}

export class NodeConfigError extends Error {
  readonly code = 'BAD_NODE_CONFIG';
}

export function loadNodeConfig(file: string): NodeConfig {
  const base = resolve(file, '..');
  let raw: Partial<NodeConfig>;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8')) as Partial<NodeConfig>;
  } catch (err) {
    throw new NodeConfigError(`cannot read ${file}: ${String(err)}`);
  }
  const need = (ok: boolean, what: string) => {
    if (!ok) throw new NodeConfigError(`${file}: ${what}`);
  };
  need(typeof raw.genesis === 'string', '"genesis" must be a path');
  need(typeof raw.key === 'string', '"key" must be a path');
  need(typeof raw.dataDir === 'string', '"dataDir" must be a path');
  need(
    !!raw.api && Number.isInteger(raw.api.port) && typeof raw.api.host === 'string',
    '"api" needs host and port',
  );
  need(
    raw.api!.judgeThreads === undefined ||
      (Number.isInteger(raw.api!.judgeThreads) && raw.api!.judgeThreads >= 0 && raw.api!.judgeThreads <= 16),
    '"api.judgeThreads" is an integer from 0 to 16',
  );
  need(
    !!raw.store && ['sqlite', 'postgres', 'eventstoredb'].includes(raw.store.kind),
    '"store.kind" is sqlite|postgres|eventstoredb',
  );
  need(!!raw.bus && ['memory', 'kafka'].includes(raw.bus.kind), '"bus.kind" is memory|kafka');
  return {
    ...(raw as NodeConfig),
    genesis: resolve(base, raw.genesis!),
    key: resolve(base, raw.key!),
    dataDir: resolve(base, raw.dataDir!),
    ...(raw.provisioning ? { provisioning: provisioningPathsFrom(base, raw.provisioning) } : {}),
  };
}

/** A config's relative paths are relative to the config file's directory. */
function provisioningPathsFrom(base: string, p: ProvisioningConfig): ProvisioningConfig {
  const at = <K extends string>(key: K, path: string | undefined): { [k in K]?: string } =>
    (path === undefined ? {} : { [key]: resolve(base, path) }) as { [k in K]?: string };
  return {
    ...p,
    ...at('plansDir', p.plansDir),
    ...(p.libvirt ? { libvirt: { ...p.libvirt, ...at('workDir', p.libvirt.workDir) } } : {}),
    ...(p.terraform
      ? {
          terraform: {
            ...p.terraform,
            ...at('workDir', p.terraform.workDir),
            ...at('providerDir', p.terraform.providerDir),
          },
        }
      : {}),
  };
}

export function readGenesisFile(path: string): Genesis {
  return parseGenesis(JSON.parse(readFileSync(path, 'utf8')));
}

export function readKeyFile(path: string): NodeKey {
  const k = JSON.parse(readFileSync(path, 'utf8')) as NodeKey;
  if (!/^[0-9a-f]{64}$/.test(k.publicKey ?? '') || !/^[0-9a-f]{64}$/.test(k.secretKey ?? ''))
    throw new NodeConfigError(`${path}: needs hex "publicKey" and "secretKey"`);
  return k;
}

/** The store URL of a node: SQLite in its data dir, or a schema named by network and node in PostgreSQL. */
export function storeUrlFor(
  config: NodeConfig,
  genesis: Genesis,
  key: NodeKey,
): { url: string; schema?: string } {
  switch (config.store.kind) {
    case 'sqlite':
      return { url: `sqlite:${join(config.dataDir, 'events.sqlite')}` };
    case 'postgres':
      return {
        url:
          config.store.url ?? process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger',
        schema: `${networkPrefix(genesis)}_${key.publicKey.slice(0, 8)}`,
      };
    case 'eventstoredb':
      if (!config.store.url && !process.env.EVENTSTORE_URL)
        throw new NodeConfigError('store eventstoredb needs store.url or EVENTSTORE_URL');
      return { url: config.store.url ?? process.env.EVENTSTORE_URL! };
  }
}

/** Read models beside the event store: a SQLite file in the data dir, or a `_rm` schema in PostgreSQL. */
export function readModelsTargetFor(config: NodeConfig, genesis: Genesis, key: NodeKey): ReadModelsTarget {
  const store = storeUrlFor(config, genesis, key);
  if (config.store.kind === 'postgres')
    return { type: 'postgres', url: store.url, schema: `${store.schema!}_rm` };
  return { type: 'sqlite', path: join(config.dataDir, 'read-models.sqlite') };
}

export interface RunningNode {
  readonly runtime: NodeRuntime;
  readonly store: EventStore;
  readonly ledger: LedgerDriver;
  readonly readModels: ReadModels;
  readonly projections: ProjectionRunner;
  readonly saga: ProvisioningSaga | null;
  readonly app: INestApplication;
  readonly url: string;
  stop(): Promise<void>;
}

export type Logger = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

/** Opens the store and the bus (or uses a shared in-process bus), starts the runtime, then the API. */
export async function startNode(
  config: NodeConfig,
  /** applierFor: overrides the configured appliers; null starts no saga (operators report by hand). */
  options: { sharedBus?: CommsBus; log?: Logger; applierFor?: ApplierFor | null } = {},
): Promise<RunningNode> {
  const genesis = readGenesisFile(config.genesis);
  const key = readKeyFile(config.key);
  mkdirSync(config.dataDir, { recursive: true });
  const target = storeUrlFor(config, genesis, key);
  const store: EventStore = await openEventStore(target.url, target.schema ? { schema: target.schema } : {});
  const bus =
    options.sharedBus ??
    openCommsBus(config.bus.kind, {
      kafka: {
        ...(config.bus.brokers ? { brokers: [...config.bus.brokers] } : {}),
        clientId: `dagger-${key.publicKey.slice(0, 8)}`,
      },
    });
  const warn = (level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>) =>
    options.log?.(level, message, fields);
  const ledger = new LedgerDriver(genesis);
  const outbox = await EventStoreIntakeOutbox.open(store);
  // On a SQLite file the runtime's commits (and their fsync) run in a thread of their own too.
  const stepWriter = await SqliteWriterThread.for(store);
  ledger.onDecided((ids) => outbox.decided(ids));
  const readModels = await openReadModels(
    readModelsTargetFor(config, genesis, key),
    readModelsConfigOf(genesis),
  );
  const projections = new ProjectionRunner(readModels, store, warn);
  const runtime = new NodeRuntime({
    genesis,
    key,
    store,
    ...(stepWriter ? { stepAppender: stepWriter } : {}),
    bus,
    ledger,
    ...(options.log ? { log: options.log } : {}),
  });
  runtime.onLedger((records) => projections.offer(records));
  await runtime.start();
  await projections.start(runtime.ledgerSize);
  const applierFor =
    options.applierFor === undefined ? appliersFor(config.provisioning, config.dataDir) : options.applierFor;
  const saga = applierFor
    ? new ProvisioningSaga({
        ledger: runtime,
        store,
        key,
        genesisHosts: genesis.hosts,
        applierFor,
        log: warn,
      })
    : null;
  await saga?.start();
  // What the API accepted before a crash and the ledger has not decided goes out again.
  const unsent = await outbox.restore((id) => ledger.hasSeen(id));
  if (unsent.length > 0) {
    warn('info', 'publishing intake again after a restart', { count: unsent.length });
    await runtime.accept(unsent);
  }
  const app = await createNodeApp(runtime, {
    intake: {
      outbox,
      publisher: {
        publish: (items) => {
          const ids = items.map((i) => i.payloadId);
          ledger.judgedByApi(ids);
          return runtime.accept(
            items.map((i) => i.bytes),
            ids,
          );
        },
      },
    },
    readModels,
    ...(config.api.judgeThreads !== undefined ? { judgeThreads: config.api.judgeThreads } : {}),
    orderLookup: { ordered: (id) => ledger.decisionOf(id) },
    lag: {
      consensusSeconds: () => outbox.oldestPendingSeconds(),
      projectionRecords: () => projections.lag,
    },
  });
  await app.listen(config.api.port, config.api.host);
  const url = `http://${config.api.host}:${config.api.port}`;
  return {
    runtime,
    store,
    ledger,
    readModels,
    projections,
    saga,
    app,
    url,
    async stop() {
      await app.close();
      await outbox.close();
      await saga?.stop();
      await runtime.stop();
      await stepWriter?.close();
      await projections.stop();
      await readModels.close();
      if (!options.sharedBus) await bus.close();
      await store.close();
    },
  };
}
