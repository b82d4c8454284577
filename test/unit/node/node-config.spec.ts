import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadNodeConfig, NodeConfigError } from '../../../src/node/launcher.js';

describe('loadNodeConfig: api.judgeThreads', () => {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-node-config-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const write = (api: Record<string, unknown>): string => {
    const file = join(dir, `config-${Math.random().toString(36).slice(2)}.json`);
    writeFileSync(
      file,
      JSON.stringify({
        genesis: 'genesis.json',
        key: 'key.json',
        dataDir: '.',
        api: { host: '127.0.0.1', port: 3000, ...api },
        store: { kind: 'sqlite' },
        bus: { kind: 'memory' },
      }),
    );
    return file;
  };

  it('is optional, and kept as given when it is an integer from 0 to 16', () => {
    expect(loadNodeConfig(write({})).api.judgeThreads).toBeUndefined();
    expect(loadNodeConfig(write({ judgeThreads: 0 })).api.judgeThreads).toBe(0);
    expect(loadNodeConfig(write({ judgeThreads: 2 })).api.judgeThreads).toBe(2);
  });

  it.each([-1, 1.5, 17, '2'])('refuses %p with a message naming the field', (judgeThreads) => {
    const file = write({ judgeThreads });
    expect(() => loadNodeConfig(file)).toThrow(NodeConfigError);
    expect(() => loadNodeConfig(file)).toThrow('"api.judgeThreads" is an integer from 0 to 16');
  });
});
