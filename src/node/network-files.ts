import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { LibvirtSettings } from '../devnet/libvirt-settings.js';
import { provisioningConfigOf } from '../devnet/libvirt-settings.js';
import { DEFAULT_CONSENSUS, makeGenesis, type Genesis, type NodeKey } from './genesis.js';
import type { NodeConfig } from './launcher.js';
import { loadNodeConfig, readGenesisFile, readKeyFile } from './launcher.js';

export interface NetworkLayout {
  readonly genesis: Genesis;
  readonly keys: readonly NodeKey[];
  readonly configFiles: readonly string[];
  readonly configs: readonly NodeConfig[];
}

export interface NetworkOptions {
  readonly nodes: number;
  readonly network: string;
  readonly host: string;
  readonly port: number;
  readonly store: NodeConfig['store']['kind'];
  readonly bus: NodeConfig['bus']['kind'];
  /** Every genesis host gets this libvirt URI and every node the libvirt applier; unset: none. */
  readonly libvirt?: LibvirtSettings;
}

/**
 * Writes `<dir>/genesis.json` and, per node i, `<dir>/node-<i>/{key.json,config.json}` with fresh
 * random keys. Data lives in `<dir>/node-<i>/`.
 */
export function writeNetwork(dir: string, opts: NetworkOptions): NetworkLayout {
  const secrets = Array.from({ length: opts.nodes }, () => new Uint8Array(randomBytes(32)));
  const { genesis, keys } = makeGenesis(
    opts.network,
    secrets,
    (i) => `http://${opts.host}:${opts.port + i}`,
    DEFAULT_CONSENSUS,
    opts.libvirt?.uri ?? 'none',
  );
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'genesis.json'), `${JSON.stringify(genesis, null, 2)}\n`);
  const configFiles: string[] = [];
  const configs: NodeConfig[] = [];
  keys.forEach((key, i) => {
    const nodeDir = join(dir, `node-${i}`);
    mkdirSync(nodeDir, { recursive: true });
    writeFileSync(join(nodeDir, 'key.json'), `${JSON.stringify(key, null, 2)}\n`, { mode: 0o600 });
    const config: NodeConfig = {
      genesis: '../genesis.json',
      key: 'key.json',
      dataDir: '.',
      api: { host: opts.host, port: opts.port + i },
      store: { kind: opts.store },
      bus: { kind: opts.bus },
      ...(opts.libvirt ? { provisioning: provisioningConfigOf(opts.libvirt) } : {}),
    };
    const file = join(nodeDir, 'config.json');
    writeFileSync(file, `${JSON.stringify(config, null, 2)}\n`);
    configFiles.push(file);
    configs.push({
      ...config,
      genesis: join(dir, 'genesis.json'),
      key: join(nodeDir, 'key.json'),
      dataDir: nodeDir,
    });
  });
  return { genesis, keys, configFiles, configs };
}

/** Reopens a network written earlier, so a devnet restart continues the same ledger. */
export function readNetwork(dir: string): NetworkLayout | null {
  const genesisFile = join(dir, 'genesis.json');
  if (!existsSync(genesisFile)) return null;
  const genesis = readGenesisFile(genesisFile);
  const keys: NodeKey[] = [];
  const configs: NodeConfig[] = [];
  const configFiles: string[] = [];
  for (let i = 0; i < genesis.members.length; i++) {
    const nodeDir = join(dir, `node-${i}`);
    keys.push(readKeyFile(join(nodeDir, 'key.json')));
    configFiles.push(join(nodeDir, 'config.json'));
    configs.push(loadNodeConfig(join(nodeDir, 'config.json')));
  }
  return { genesis, keys, configFiles, configs };
}
