import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openReadModels } from '../../../projections/open-read-models.js';
import { CONFIG } from '../../contract/read-models.contract.js';
import { rowStatementCases } from './row-statements.cases.js';

describe('the projector statements on SQLite', () => {
  let dir: string | undefined;
  rowStatementCases({
    dialect: 'sqlite',
    create: async () => {
      dir = mkdtempSync(join(tmpdir(), 'dagger-rm-rows-'));
      const path = join(dir, 'read-models.sqlite');
      await (
        await openReadModels({ type: 'sqlite', path }, { ...CONFIG, genesisMembers: [], genesisHosts: [] })
      ).close();
      return { type: 'better-sqlite3', database: path };
    },
    drop: async () => {
      if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
      dir = undefined;
    },
  });
});
