import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describeReadModelsContract } from '../../contract/read-models.contract.js';

describeReadModelsContract('SQLite file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-rm-'));
  return {
    target: { type: 'sqlite', path: join(dir, 'read-models.sqlite') },
    dispose: async () => rmSync(dir, { recursive: true, force: true }),
  };
});
