import type { HeartbeatConfig } from '../../domain/shadowgraph/node.js';
import { InProcessNetwork, type NodeStats } from './inprocess-network.js';

/**
 * `dagger devnet` until the node runtime lands: an in-process network of N members with a modest
 * synthetic payload stream, and a live view proving they agree.
 */

export interface DevnetOptions {
  readonly nodes: number;
  readonly port: number;
  readonly data: string;
  readonly bus: 'memory';
  readonly store: 'sqlite';
  /** Synthetic payloads per second across the network. */
  readonly rate: number;
  readonly seed: string;
  readonly heartbeat?: HeartbeatConfig;
}

export interface DevnetOutput {
  /** A TTY gets a live view redrawn in place; anything else a status line every 2 s. */
  readonly tty: boolean;
  write(text: string): void;
}

export interface DevnetSummary {
  readonly seconds: number;
  readonly stats: NodeStats[];
  readonly agreementIndex: number;
  readonly agree: boolean;
}

interface Snapshot {
  readonly at: number;
  readonly payloads: number[];
}

const short = (hex: string | undefined, n = 16): string => (hex === undefined ? 'n/a' : hex.slice(0, n));

/** The live view's lines (pure: testable without a terminal). */
export function renderDevnetView(
  opts: DevnetOptions,
  seconds: number,
  stats: readonly NodeStats[],
  perSec: readonly number[],
  agreement: { index: number; hashes: readonly (string | undefined)[]; agree: boolean },
): string[] {
  const lines = [
    `DAGGER devnet | ${opts.nodes} nodes in-process | ${seconds.toFixed(0)} s | synthetic stream ${opts.rate} payloads/s | Ctrl-C stops`,
    [
      'node',
      'key'.padEnd(16),
      'decided'.padStart(8),
      'events'.padStart(7),
      'payloads'.padStart(9),
      'payloads/s'.padStart(11),
      'pending'.padStart(8),
    ].join('  '),
  ];
  for (const s of stats) {
    lines.push(
      [
        String(s.index).padEnd(4),
        short(s.publicKey).padEnd(16),
        String(s.lastDecidedRound).padStart(8),
        String(s.orderedEvents).padStart(7),
        String(s.orderedPayloads).padStart(9),
        (perSec[s.index] ?? 0).toFixed(1).padStart(11),
        String(s.pendingPayloads).padStart(8),
      ].join('  '),
    );
  }
  const verdict = agreement.agree
    ? `all ${stats.length} nodes agree`
    : agreement.hashes.some((h) => h === undefined)
      ? 'a node is too far behind to compare'
      : 'DISAGREEMENT';
  lines.push(`order hash at common index ${agreement.index}: ${short(agreement.hashes[0], 32)}  ${verdict}`);
  lines.push(
    `(API ports ${opts.port}..${opts.port + opts.nodes - 1}, data ${opts.data}, bus ${opts.bus}, store ${opts.store}: used once the node runtime lands)`,
  );
  return lines;
}

/** One status line for logs (non-TTY). */
export function renderDevnetStatus(
  seconds: number,
  stats: readonly NodeStats[],
  perSec: readonly number[],
  agreement: { index: number; hashes: readonly (string | undefined)[]; agree: boolean },
): string {
  const total = perSec.reduce((a, b) => a + b, 0) / Math.max(1, perSec.length);
  return (
    `devnet t=${seconds.toFixed(0)}s decided=[${stats.map((s) => s.lastDecidedRound).join(',')}]` +
    ` ordered=[${stats.map((s) => s.orderedEvents).join(',')}]` +
    ` payloads=[${stats.map((s) => s.orderedPayloads).join(',')}] payloads/s=${total.toFixed(1)}` +
    ` orderHash@${agreement.index}=${short(agreement.hashes[0])} ${agreement.agree ? 'agree' : 'DISAGREE'}`
  );
}

/** Runs until `until` resolves; returns what the network reached. */
export async function runDevnet(
  opts: DevnetOptions,
  out: DevnetOutput,
  until: Promise<void>,
): Promise<DevnetSummary> {
  const network = new InProcessNetwork({
    nodes: opts.nodes,
    seed: opts.seed,
    ...(opts.heartbeat ? { heartbeat: opts.heartbeat } : {}),
  });
  const start = performance.now();
  const encoder = new TextEncoder();
  let produced = 0;
  let credit = 0;
  let nextNode = 0;
  const streamTimer = setInterval(() => {
    credit += opts.rate / 10;
    const batch = Math.min(Math.floor(credit), 10_000);
    credit -= batch;
    for (let k = 0; k < batch; k++) {
      const payload = encoder.encode(JSON.stringify({ type: 'devnet.noop', n: produced++, node: nextNode }));
      network.submit(nextNode, [payload]);
      nextNode = (nextNode + 1) % opts.nodes;
    }
  }, 100);

  let last: Snapshot = { at: start, payloads: new Array<number>(opts.nodes).fill(0) };
  let drawn = 0;
  const refresh = (): void => {
    const now = performance.now();
    const stats = network.allStats();
    const dt = (now - last.at) / 1000;
    const perSec = stats.map((s) => (dt > 0 ? (s.orderedPayloads - last.payloads[s.index]!) / dt : 0));
    last = { at: now, payloads: stats.map((s) => s.orderedPayloads) };
    const seconds = (now - start) / 1000;
    const agreement = network.agreement();
    if (out.tty) {
      const lines = renderDevnetView(opts, seconds, stats, perSec, agreement);
      const up = drawn > 0 ? `\x1b[${drawn}F` : '';
      out.write(`${up}${lines.map((l) => `\x1b[2K${l}`).join('\n')}\n`);
      drawn = lines.length;
    } else {
      out.write(`${renderDevnetStatus(seconds, stats, perSec, agreement)}\n`);
    }
  };
  const viewTimer = setInterval(refresh, out.tty ? 500 : 2000);
  network.start();
  try {
    await until;
  } finally {
    clearInterval(streamTimer);
    clearInterval(viewTimer);
    await network.stop();
  }
  const agreement = network.agreement();
  return {
    seconds: (performance.now() - start) / 1000,
    stats: network.allStats(),
    agreementIndex: agreement.index,
    agree: agreement.agree,
  };
}
