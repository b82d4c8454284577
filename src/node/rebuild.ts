import type { LedgerRecord } from '../../domain/processor/events.js';
import { rebuildReadModels } from '../../projections/index.js';
import { openEventStore } from '../eventstore/open.js';
import {
  loadNodeConfig,
  readGenesisFile,
  readKeyFile,
  readModelsTargetFor,
  storeUrlFor,
} from './launcher.js';
import { readModelsConfigOf } from './genesis.js';
import { ledgerRecordOf, STREAMS } from './node-runtime.js';

/** `dagger projections rebuild`: the node's read models from scratch, from its own `ledger` stream. */
export async function rebuildProjections(
  configFile: string,
  progress: (records: number) => void = () => undefined,
): Promise<{ records: number; checkpoint: number; seconds: number }> {
  const config = loadNodeConfig(configFile);
  const genesis = readGenesisFile(config.genesis);
  const key = readKeyFile(config.key);
  const target = storeUrlFor(config, genesis, key);
  const store = await openEventStore(target.url, target.schema ? { schema: target.schema } : {});
  const started = performance.now();
  let records = 0;
  async function* ledger(): AsyncIterable<LedgerRecord> {
    for await (const e of store.readStream(STREAMS.ledger)) {
      records++;
      if (records % 1000 === 0) progress(records);
      yield ledgerRecordOf(e.data);
    }
  }
  try {
    const checkpoint = await rebuildReadModels(
      readModelsTargetFor(config, genesis, key),
      readModelsConfigOf(genesis),
      ledger(),
    );
    progress(records);
    return { records, checkpoint, seconds: (performance.now() - started) / 1000 };
  } finally {
    await store.close();
  }
}
