import { randomBytes } from 'node:crypto';
import { dropReadModels } from '../../../projections/open-read-models.js';
import { describeReadModelsContract } from '../../contract/read-models.contract.js';

/** Needs PostgreSQL (npm run services:up). Each test gets a fresh random schema, dropped after. */
const url = process.env.DAGGER_PG_URL ?? 'postgres://dagger:dagger@127.0.0.1:55432/dagger';

describeReadModelsContract(
  'PostgreSQL',
  async () => {
    const target = {
      type: 'postgres',
      url,
      schema: `dagger_test_rm_${randomBytes(6).toString('hex')}`,
    } as const;
    return { target, dispose: () => dropReadModels(target) };
  },
  { peers: true },
);
