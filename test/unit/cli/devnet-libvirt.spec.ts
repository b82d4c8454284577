import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { devnetOptionsOf, type DevnetCliOptions } from '../../../src/cli/commands/devnet.js';
import { libvirtDefaults } from '../../../src/provisioning/index.js';
import { loadNodeConfig } from '../../../src/node/launcher.js';
import { writeNetwork } from '../../../src/node/network-files.js';
import { dagger, tempDir } from './support.js';

const base: DevnetCliOptions = {
  nodes: 3,
  port: 3000,
  data: '/nonexistent/dagger-data',
  bus: 'memory',
  store: 'sqlite',
  rate: 5,
};
const noEnv = {};

describe('dagger devnet --libvirt-uri', () => {
  it('without the flag has no libvirt settings at all', () => {
    expect(devnetOptionsOf(base, { DAGGER_LIBVIRT_POOL: 'p' })).toEqual(base);
  });

  it('takes the services defaults, then DAGGER_LIBVIRT_*, then the flags', () => {
    const uri = 'qemu:///system';
    expect(devnetOptionsOf({ ...base, libvirtUri: uri }, noEnv)).toEqual({
      ...base,
      libvirt: { ...libvirtDefaults({}), uri },
    });
    const env = {
      DAGGER_LIBVIRT_POOL: 'envpool',
      DAGGER_LIBVIRT_POOL_PATH: '/srv/pools/envpool',
      DAGGER_LIBVIRT_NETWORK: 'envnet',
      DAGGER_LIBVIRT_DOMAIN_TYPE: 'qemu',
      // The URI comes only from the flag: devnet never touches libvirt unless asked.
      DAGGER_LIBVIRT_URI: 'qemu+ssh://elsewhere/system',
    };
    expect(devnetOptionsOf({ ...base, libvirtUri: uri }, env)).toMatchObject({
      libvirt: {
        uri,
        pool: 'envpool',
        poolPath: '/srv/pools/envpool',
        network: 'envnet',
        domainType: 'qemu',
      },
    });
    expect(
      devnetOptionsOf({ ...base, libvirtUri: uri, libvirtPool: 'flagpool', libvirtDomainType: 'kvm' }, env),
    ).toMatchObject({ libvirt: { pool: 'flagpool', network: 'envnet', domainType: 'kvm' } });
    expect(devnetOptionsOf(base, env)).toEqual(base);
    expect(devnetOptionsOf({ ...base, libvirtUri: uri }, { DAGGER_LIBVIRT_DOMAIN_TYPE: 'xen' })).toMatch(
      /domain type xen must be kvm or qemu/,
    );
  });

  it.each([
    [{ libvirtUri: 'none' }, /not a libvirt URI/],
    [{ libvirtUri: '/var/run/libvirt' }, /not a libvirt URI/],
    [{ libvirtUri: 'qemu:///system', libvirtPool: 'no/slash' }, /pool no\/slash/],
    [{ libvirtUri: 'qemu:///system', libvirtNetwork: '-x' }, /network -x/],
    [{ libvirtUri: 'qemu:///system', libvirtPoolPath: 'relative/dir' }, /must be absolute/],
    [{ libvirtUri: 'qemu:///system', libvirtDomainType: 'xen' }, /kvm or qemu/],
    [{ libvirtPool: 'dagger' }, /--libvirt-pool needs --libvirt-uri/],
    [{ libvirtDomainType: 'qemu' }, /--libvirt-domain-type needs --libvirt-uri/],
  ])('refuses %j', (flags, message) => {
    expect(devnetOptionsOf({ ...base, ...flags }, noEnv)).toMatch(message);
  });

  it('commander refuses an unknown domain type and a stray libvirt flag, naming them', async () => {
    const bad = await dagger(['devnet', '--libvirt-uri', 'qemu:///system', '--libvirt-domain-type', 'xen']);
    expect(bad.error?.code).toBe('commander.invalidArgument');
    expect(bad.err).toContain('--libvirt-domain-type');
    const stray = await dagger(['devnet', '--data', tempDir(), '--libvirt-network', 'n']);
    expect(stray.error).toBeDefined();
    expect(stray.err).toContain('--libvirt-network needs --libvirt-uri');
  });

  it('writes the URI into every genesis host and a libvirt provisioning section into every node config', () => {
    const dir = tempDir();
    const libvirt = {
      uri: 'qemu:///system',
      pool: 'dagger',
      poolPath: '/srv/pools/dagger',
      network: 'default',
      domainType: 'kvm',
    } as const;
    const layout = writeNetwork(dir, {
      nodes: 2,
      network: 'n',
      host: '127.0.0.1',
      port: 3000,
      store: 'sqlite',
      bus: 'memory',
      libvirt,
    });
    expect(layout.genesis.hosts.map((h) => h.libvirtUri)).toEqual([libvirt.uri, libvirt.uri]);
    for (const file of layout.configFiles) {
      expect(JSON.parse(readFileSync(file, 'utf8')).provisioning).toEqual({ libvirt });
      expect(loadNodeConfig(file).provisioning).toEqual({ libvirt });
    }
    const plain = writeNetwork(join(dir, 'plain'), {
      nodes: 1,
      network: 'p',
      host: '127.0.0.1',
      port: 3000,
      store: 'sqlite',
      bus: 'memory',
    });
    expect(plain.genesis.hosts.every((h) => h.libvirtUri === 'none')).toBe(true);
    expect(JSON.parse(readFileSync(plain.configFiles[0]!, 'utf8')).provisioning).toBeUndefined();
  });

  it('refuses to reuse a data dir whose hosts have another libvirt URI, before starting any node', async () => {
    const dir = tempDir();
    writeNetwork(dir, {
      nodes: 3,
      network: 'n',
      host: '127.0.0.1',
      port: 3000,
      store: 'sqlite',
      bus: 'memory',
    });
    const r = await dagger(['devnet', '--nodes', '3', '--data', dir, '--libvirt-uri', 'qemu:///system']);
    expect(r.error).toBeDefined();
    expect(r.err).toContain('host host-0 has libvirt URI none, not qemu:///system');
  });

  it('dagger genesis --libvirt-uri writes the same: the URI in every host, the settings in every config', async () => {
    const dir = tempDir();
    const r = await dagger([
      'genesis',
      '--nodes',
      '2',
      '--out',
      dir,
      '--json',
      '--libvirt-uri',
      'qemu:///system',
      '--libvirt-pool',
      'vms',
      '--libvirt-pool-path',
      '/srv/vms',
      '--libvirt-network',
      'lab',
      '--libvirt-domain-type',
      'qemu',
    ]);
    expect(r.error).toBeUndefined();
    const summary = JSON.parse(r.out) as { genesis: string; configs: string[] };
    const genesis = JSON.parse(readFileSync(summary.genesis, 'utf8')) as { hosts: { libvirtUri: string }[] };
    expect(genesis.hosts.map((h) => h.libvirtUri)).toEqual(['qemu:///system', 'qemu:///system']);
    const libvirt = {
      uri: 'qemu:///system',
      pool: 'vms',
      poolPath: '/srv/vms',
      network: 'lab',
      domainType: 'qemu',
    };
    for (const file of summary.configs) expect(loadNodeConfig(file).provisioning).toEqual({ libvirt });
    const stray = await dagger(['genesis', '--nodes', '1', '--out', tempDir(), '--libvirt-pool', 'vms']);
    expect(stray.error).toBeDefined();
    expect(stray.err).toContain('--libvirt-pool needs --libvirt-uri.');
  });

  it('a node config resolves its relative provisioning paths against its own directory', () => {
    const dir = tempDir();
    const layout = writeNetwork(dir, {
      nodes: 1,
      network: 'r',
      host: '127.0.0.1',
      port: 3000,
      store: 'sqlite',
      bus: 'memory',
    });
    const file = layout.configFiles[0]!;
    const raw = JSON.parse(readFileSync(file, 'utf8'));
    raw.provisioning = {
      plansDir: 'plans',
      libvirt: { workDir: 'lv' },
      terraform: { workDir: '/abs/tf', providerDir: 'providers' },
    };
    writeFileSync(file, JSON.stringify(raw));
    const at = (p: string) => join(dirname(file), p);
    expect(loadNodeConfig(file).provisioning).toEqual({
      plansDir: at('plans'),
      libvirt: { workDir: at('lv') },
      terraform: { workDir: '/abs/tf', providerDir: at('providers') },
    });
  });
});
