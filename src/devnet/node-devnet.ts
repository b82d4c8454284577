import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { sha256, signerFromSecretKey } from '../../domain/crypto/index.js';
import { signPayload } from '../../domain/payloads/index.js';
import type { CommsBus } from '../bus/comms-bus.js';
import { openCommsBus } from '../bus/open.js';
import { genesisHash, networkPrefix } from '../node/genesis.js';
import { type NodeConfig, type RunningNode, startNode } from '../node/launcher.js';
import { readNetwork, writeNetwork } from '../node/network-files.js';
import { type LibvirtSettings, provisioningConfigOf } from './libvirt-settings.js';

export interface NodeDevnetOptions {
  readonly nodes: number;
  readonly port: number;
  readonly data: string;
  readonly bus: 'memory' | 'kafka';
  readonly store: 'sqlite' | 'postgres' | 'eventstoredb';
  /** Synthetic signed vm.create requests per second, spread over the nodes (0: none). */
  readonly rate: number;
  /** The hosts' libvirt and the nodes' libvirt applier; unset: nothing touches libvirt. */
  readonly libvirt?: LibvirtSettings;
}

export class DevnetError extends Error {
  readonly code = 'DEVNET_MISMATCH';
  constructor(message: string) {
    super(message);
    this.name = 'DevnetError';
  }
}

export interface DevnetScreen {
  readonly tty: boolean;
  write(text: string): void;
}

export interface NodeDevnetSummary {
  readonly seconds: number;
  readonly heads: readonly { consensusIndex: number; orderHash: string; lastDecidedRound: number }[];
  /** Every pair of nodes has the same order hash at the smallest common index. */
  readonly agree: boolean;
}

/**
 * `dagger devnet`: N full nodes in this process, each with its own store under
 * `<data>/node-<i>/` and its API on port + i, sharing one in-process bus (or Kafka). The network
 * in `<data>` is reused when it exists, so a restart continues the same ledger.
 */
export async function runNodeDevnet(
  opts: NodeDevnetOptions,
  screen: DevnetScreen,
  stop: Promise<void>,
): Promise<NodeDevnetSummary> {
  const existing = readNetwork(opts.data);
  const layout =
    existing && existing.keys.length === opts.nodes
      ? existing
      : writeNetwork(opts.data, {
          nodes: opts.nodes,
          network: 'dagger-devnet',
          host: '127.0.0.1',
          port: opts.port,
          store: opts.store,
          bus: opts.bus,
          ...(opts.libvirt ? { libvirt: opts.libvirt } : {}),
        });
  const uri = opts.libvirt?.uri ?? 'none';
  const other = layout.genesis.hosts.find((h) => h.libvirtUri !== uri);
  if (other)
    throw new DevnetError(
      `${opts.data} holds a network whose host ${other.hostId} has libvirt URI ${other.libvirtUri}, not ${uri}: ` +
        'use another --data (genesis is fixed once written).',
    );
  const configs: NodeConfig[] = layout.keys.map((_, i) => ({
    genesis: join(opts.data, 'genesis.json'),
    key: join(opts.data, `node-${i}`, 'key.json'),
    dataDir: join(opts.data, `node-${i}`),
    api: { host: '127.0.0.1', port: opts.port + i },
    store: { kind: opts.store },
    bus: { kind: opts.bus },
    ...(opts.libvirt ? { provisioning: provisioningConfigOf(opts.libvirt) } : {}),
  }));
  const shared: CommsBus | undefined = opts.bus === 'memory' ? openCommsBus('memory') : undefined;
  const warnings: string[] = [];
  const log = (level: string, msg: string, fields?: Record<string, unknown>) => {
    if (level !== 'info')
      warnings.push(`${level}: ${msg} ${fields ? JSON.stringify(fields) : ''}`.slice(0, 200));
  };
  const started = Date.now();
  const nodes: RunningNode[] = [];
  try {
    for (const config of configs)
      nodes.push(await startNode(config, { ...(shared ? { sharedBus: shared } : {}), log }));
  } catch (err) {
    for (const n of nodes) await n.stop().catch(() => undefined);
    throw err;
  }
  screen.write(
    `devnet ${networkPrefix(layout.genesis)} (genesis ${genesisHash(layout.genesis).slice(0, 16)}…), data in ${opts.data}\n` +
      nodes.map((n, i) => `  node ${i}: ${n.url}  (GET /health, /v1/ledger/head, /metrics)\n`).join(''),
  );

  // Synthetic tenants sign small vm.create requests, a fresh tenant every few VMs (quotas).
  let counter = 0;
  let tenant = signerFromSecretKey(new Uint8Array(randomBytes(32)));
  const payloadTimer =
    opts.rate > 0
      ? setInterval(
          () => {
            if (counter > 0 && counter % 8 === 0)
              tenant = signerFromSecretKey(new Uint8Array(randomBytes(32)));
            const i = counter++;
            const { bytes } = signPayload(
              {
                type: 'vm.create',
                nonce: randomBytes(12).toString('base64url'),
                expiresAt: Date.now() + 600_000,
                vmId: `dev-${started.toString(36)}-${i}`,
                name: `dev-${i}`,
                vcpus: 1,
                memoryMiB: 128,
                diskGiB: 1,
              },
              tenant,
              sha256,
            );
            void nodes[i % nodes.length]!.runtime.accept([bytes]).catch(() => undefined);
          },
          Math.max(1, Math.floor(1000 / opts.rate)),
        )
      : null;

  const heads = () =>
    nodes.map((n) => ({
      ...n.runtime.head(),
      lastDecidedRound: n.runtime.lastDecidedRound(),
      stats: n.runtime.stats,
    }));
  let lines = 0;
  const render = async () => {
    const h = heads();
    const common = Math.min(...h.map((x) => x.consensusIndex));
    const hashes = await Promise.all(nodes.map((n) => n.runtime.orderHashAtIndex(common)));
    const agree = hashes.every((x) => x === hashes[0]);
    const rows = h.map(
      (x, i) =>
        `node ${i}  round ${String(x.lastDecidedRound).padStart(5)}  ordered ${String(x.consensusIndex).padStart(7)} events ` +
        `${String(x.stats.orderedPayloads).padStart(7)} payloads  ledger ${String(x.stats.ledgerRecords).padStart(7)}  forks ${x.stats.forks}`,
    );
    rows.push(
      `common index ${common}: order hash ${hashes[0]?.slice(0, 16)}… ${agree ? 'all nodes agree' : 'NODES DISAGREE'}`,
    );
    for (const w of warnings.splice(0, 3)) rows.push(w);
    if (screen.tty) {
      screen.write(`${lines > 0 ? `\x1b[${lines}A` : ''}${rows.map((r) => `\x1b[2K${r}\n`).join('')}`);
      lines = rows.length;
    } else screen.write(`${rows.join(' | ')}\n`);
  };
  const view = setInterval(() => void render(), screen.tty ? 1000 : 2000);
  await stop;
  clearInterval(view);
  if (payloadTimer) clearInterval(payloadTimer);
  await render();
  const final = heads();
  const common = Math.min(...final.map((x) => x.consensusIndex));
  const hashes = await Promise.all(nodes.map((n) => n.runtime.orderHashAtIndex(common)));
  for (const n of nodes) await n.stop().catch(() => undefined);
  if (shared) await shared.close();
  return {
    seconds: (Date.now() - started) / 1000,
    heads: final.map((x) => ({
      consensusIndex: x.consensusIndex,
      orderHash: x.orderHash,
      lastDecidedRound: x.lastDecidedRound,
    })),
    agree: hashes.every((x) => x === hashes[0]),
  };
}
