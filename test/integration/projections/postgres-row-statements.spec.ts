import { randomBytes } from 'node:crypto';
import {
  dropReadModels,
  openReadModels,
  type ReadModelsTarget,
} from '../../../projections/open-read-models.js';
import { CONFIG } from '../../contract/read-models.contract.js';
import { rowStatementCases } from '../../unit/projections/row-statements.cases.js';

/** Needs PostgreSQL (npm run services:up). */
const url = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';

describe('the projector statements on PostgreSQL', () => {
  let target: ReadModelsTarget | undefined;
  rowStatementCases({
    dialect: 'postgres',
    create: async () => {
      const schema = `dagger_test_rows_${randomBytes(6).toString('hex')}`;
      target = { type: 'postgres', url, schema };
      await (await openReadModels(target, { ...CONFIG, genesisMembers: [], genesisHosts: [] })).close();
      return { type: 'postgres', url, schema, poolSize: 2 };
    },
    drop: async () => {
      if (target !== undefined) await dropReadModels(target);
      target = undefined;
    },
  });
});
