import { mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publicKeyOf, fromHex, toHex } from '../../../domain/crypto/index.js';
import { validateDevnetOptions, type DevnetCliOptions } from '../../../src/cli/commands/devnet.js';
import { dagger as run } from './support.js';

describe('dagger CLI', () => {
  it('lists its commands in --help', async () => {
    const r = await run(['--help']);
    const help = r.out;
    for (const cmd of ['keygen', 'sim', 'bench', 'devnet']) expect(help).toContain(cmd);
  });

  it('refuses an unknown command', async () => {
    const r = await run(['frobnicate']);
    expect(r.error?.code).toBe('commander.unknownCommand');
  });

  describe('sim', () => {
    it('requires --nodes', async () => {
      const r = await run(['sim', '--seeds', '1']);
      expect(r.error?.code).toBe('commander.missingMandatoryOptionValue');
      expect(r.err).toContain('--nodes');
    });

    it.each([
      [['--nodes', 'four'], '--nodes'],
      [['--nodes', '0'], '--nodes'],
      [['--nodes', '65'], '--nodes'],
      [['--nodes', '4', '--seeds', '0'], '--seeds'],
      [['--nodes', '4', '--byzantine', '-1'], '--byzantine'],
      [['--nodes', '4', '--events', '3'], '--events'],
      [['--nodes', '4', '--seed', '1.5'], '--seed'],
    ])('refuses %j naming the option', async (args, option) => {
      const r = await run(['sim', ...args]);
      expect(r.error?.code).toBe('commander.invalidArgument');
      expect(r.err).toContain(option);
    });

    it('refuses an unknown mutant and lists the known ones', async () => {
      const r = await run(['sim', '--nodes', '4', '--mutant', 'nope']);
      expect(r.error?.code).toBe('commander.invalidArgument');
      expect(r.err).toContain('threshold-half');
    });

    it('refuses --byzantine >= --nodes', async () => {
      const r = await run(['sim', '--nodes', '4', '--byzantine', '4']);
      expect(r.error).toBeDefined();
      expect(r.err).toContain('--byzantine must be below --nodes');
    });
  });

  describe('sim --json', () => {
    it('prints exactly one JSON object on stdout and exits 0 on a clean run', async () => {
      const r = await run(['sim', '--nodes', '4', '--byzantine', '1', '--seeds', '1', '--json']);
      expect(r.error).toBeUndefined();
      expect(r.out.trimEnd().split('\n')).toHaveLength(1);
      const report = JSON.parse(r.out) as Record<string, unknown>;
      expect(report).toMatchObject({ runs: 1, nodes: 4, byzantine: 1, mutant: null, safetyViolations: 0 });
      expect(r.exitCode).toBeUndefined();
    }, 60_000);
  });

  describe('bench consensus', () => {
    it('prints exactly one JSON object with the documented fields', async () => {
      const r = await run(['bench', 'consensus', '--nodes', '4', '--payloads', '3000', '--json']);
      expect(r.error).toBeUndefined();
      expect(r.out.trimEnd().split('\n')).toHaveLength(1);
      const report = JSON.parse(r.out) as Record<string, unknown>;
      expect(Object.keys(report).sort()).toEqual(
        [
          'mode',
          'nodes',
          'payloads',
          'cores',
          'payloadsPerSec',
          'finalityMs',
          'peakRssMiB',
          'rssStartMiB',
          'rssEndMiB',
          'verifyPerSecPerCore',
          'boundPayloadsPerSec',
          'ratioToBound',
        ].sort(),
      );
      expect(report).toMatchObject({
        mode: 'consensus',
        nodes: 4,
        payloads: 3000,
        boundPayloadsPerSec: null,
      });
    }, 60_000);

    it.each([
      [['--mode', 'fast'], '--mode'],
      [['--nodes', '-2'], '--nodes'],
      [['--nodes', '1'], '--nodes'],
      [['--payloads', '0'], '--payloads'],
      [['--rate', '0'], '--rate'],
      [['--rate', 'lots'], '--rate'],
      [['--duration', '-5'], '--duration'],
    ])('refuses %j naming the option', async (args, option) => {
      const r = await run(['bench', 'consensus', ...args]);
      expect(r.error?.code).toBe('commander.invalidArgument');
      expect(r.err).toContain(option);
    });
  });

  describe('devnet', () => {
    it('refuses a bad port, node count or bus name', async () => {
      for (const args of [
        ['--port', '70000'],
        ['--nodes', '0'],
        ['--bus', 'carrier-pigeon'],
        ['--store', 'floppy'],
      ]) {
        const r = await run(['devnet', ...args]);
        expect(r.error?.code).toBe('commander.invalidArgument');
      }
    });

    const base: DevnetCliOptions = {
      nodes: 4,
      port: 3000,
      data: '/nonexistent/dagger-data',
      bus: 'memory',
      store: 'sqlite',
      rate: 20,
    };

    it('accepts every adapter, and EventStoreDB only with EVENTSTORE_URL', () => {
      expect(validateDevnetOptions(base)).toBeNull();
      expect(validateDevnetOptions({ ...base, bus: 'kafka', store: 'postgres' })).toBeNull();
      const saved = process.env.EVENTSTORE_URL;
      delete process.env.EVENTSTORE_URL;
      expect(validateDevnetOptions({ ...base, store: 'eventstoredb' })).toMatch(/EVENTSTORE_URL/);
      if (saved !== undefined) process.env.EVENTSTORE_URL = saved;
    });

    it('refuses ports past 65535 and a data path that is a file', () => {
      expect(validateDevnetOptions({ ...base, port: 65_534, nodes: 4 })).toMatch(/65535/);
      const dir = mkdtempSync(join(tmpdir(), 'dagger-cli-'));
      const file = join(dir, 'file');
      writeFileSync(file, 'x');
      expect(validateDevnetOptions({ ...base, data: file })).toMatch(/not a directory/);
      expect(validateDevnetOptions({ ...base, data: dir })).toBeNull();
    });

    it('reports the refusal through commander with a clear message', async () => {
      const r = await run(['devnet', '--port', '65534', '--nodes', '4']);
      expect(r.error).toBeDefined();
      expect(r.err).toContain('above 65535');
    });
  });

  describe('keygen', () => {
    it('prints a key pair whose public key matches its secret key', async () => {
      const r = await run(['keygen']);
      const key = JSON.parse(r.out) as { publicKey: string; secretKey: string };
      expect(key.secretKey).toMatch(/^[0-9a-f]{64}$/);
      expect(key.publicKey).toBe(toHex(publicKeyOf(fromHex(key.secretKey))));
    });

    it('writes --out with mode 0600 and refuses to overwrite it', async () => {
      const file = join(mkdtempSync(join(tmpdir(), 'dagger-key-')), 'key.json');
      const first = await run(['keygen', '--out', file]);
      expect(first.exitCode).toBeUndefined();
      const key = JSON.parse(readFileSync(file, 'utf8')) as { publicKey: string };
      expect(JSON.parse(first.out)).toEqual({ publicKey: key.publicKey, out: file });
      expect(statSync(file).mode & 0o777).toBe(0o600);
      const second = await run(['keygen', '--out', file]);
      expect(second.exitCode).toBe(1);
      expect(second.err).toContain('refusing to overwrite');
      expect(JSON.parse(readFileSync(file, 'utf8'))).toEqual(key);
    });
  });
});
