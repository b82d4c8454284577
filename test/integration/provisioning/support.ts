import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { libvirtDefaults, type LibvirtSettings } from '../../../src/provisioning/index.js';
import { type NetworkLayout, writeNetwork } from '../../../src/node/network-files.js';

/** `dagger node` processes from dist/ (built by `npm run test:integration`) on Kafka and SQLite. */
export const CLI = resolve('dist/src/cli/main.js');
export const KAFKA = process.env.DAGGER_KAFKA_BROKERS ?? '127.0.0.1:59092';

/** What scripts/services/libvirt.sh set up (the same DAGGER_LIBVIRT_* and defaults). */
export const LIBVIRT: LibvirtSettings = libvirtDefaults();

export function virsh(args: readonly string[], timeoutMs = 60_000): string {
  return execFileSync('virsh', ['-q', '-c', LIBVIRT.uri, ...args], {
    encoding: 'utf8',
    timeout: timeoutMs,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Throws, loudly, when libvirtd or its pool is not there: these suites never skip. */
export function requireLibvirt(): void {
  try {
    virsh(['pool-info', LIBVIRT.pool]);
    virsh(['net-info', LIBVIRT.network]);
  } catch (err) {
    const stderr = (err as { stderr?: string }).stderr ?? String(err);
    throw new Error(
      `libvirt is not reachable at ${LIBVIRT.uri} (pool ${LIBVIRT.pool}, network ${LIBVIRT.network}): ` +
        `${stderr.trim()}\nStart it with \`npm run services:up\` (scripts/services/libvirt.sh) before ` +
        '`npm run test:integration`; these tests need a real libvirtd and do not skip.',
    );
  }
}

/** The pool's directory as libvirt has it (what LIBVIRT.poolPath should be). */
export function poolDir(): string {
  const path = /<target>\s*<path>([^<]+)<\/path>/.exec(virsh(['pool-dumpxml', LIBVIRT.pool]))?.[1];
  if (!path) throw new Error(`pool ${LIBVIRT.pool} has no target path`);
  return path;
}

/** `running`, `shut off`, ... or null when the domain does not exist. */
export function domstate(name: string): string | null {
  try {
    return virsh(['domstate', name]).trim();
  } catch {
    return null;
  }
}

export const domainsWithPrefix = (prefix: string): string[] =>
  virsh(['list', '--all', '--name'])
    .split('\n')
    .map((l) => l.trim())
    .filter((n) => n.startsWith(prefix));

export function volumesWithPrefix(prefix: string): string[] {
  virsh(['pool-refresh', LIBVIRT.pool]);
  return virsh(['vol-list', LIBVIRT.pool])
    .split('\n')
    .map((l) => l.trim().split(/\s+/)[0] ?? '')
    .filter((n) => n.startsWith(prefix));
}

const attempt = (args: readonly string[]): void => {
  try {
    virsh(args);
  } catch {
    // Already gone or not running: what a sweep wants anyway.
  }
};

/**
 * Removes every domain and volume whose name starts with `prefix`; returns what it found. It
 * looks again until a pass finds nothing (at most 5 passes, 2 s apart): a virsh a killed node
 * had started may still finish after the first pass.
 */
export async function sweep(prefix: string): Promise<{ domains: string[]; volumes: string[] }> {
  const found = { domains: new Set<string>(), volumes: new Set<string>() };
  for (let pass = 0; pass < 5; pass++) {
    const domains = domainsWithPrefix(prefix);
    for (const d of domains) {
      found.domains.add(d);
      attempt(['destroy', d]);
      attempt(['undefine', d, '--managed-save', '--snapshots-metadata']);
    }
    const volumes = volumesWithPrefix(prefix);
    for (const v of volumes) {
      found.volumes.add(v);
      attempt(['vol-delete', '--pool', LIBVIRT.pool, v]);
    }
    if (domains.length + volumes.length === 0 && pass > 0) break;
    await new Promise((r) => setTimeout(r, 2000));
  }
  return { domains: [...found.domains], volumes: [...found.volumes] };
}

export interface NodeProcess {
  child: ChildProcess;
  log: string[];
}

/** A network of `dagger node` processes whose genesis hosts all point at LIBVIRT. */
export interface LibvirtNet {
  readonly dir: string;
  readonly layout: NetworkLayout;
  readonly urls: readonly string[];
  readonly procs: (NodeProcess | null)[];
}

export function writeLibvirtNet(nodes: number, port: number, network: string): LibvirtNet {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-libvirt-'));
  const layout = writeNetwork(dir, {
    nodes,
    network,
    host: '127.0.0.1',
    port,
    store: 'sqlite',
    bus: 'kafka',
    libvirt: LIBVIRT,
  });
  return {
    dir,
    layout,
    urls: layout.configs.map((c) => `http://127.0.0.1:${c.api.port}`),
    procs: layout.configs.map(() => null),
  };
}

export function startProcess(net: LibvirtNet, i: number): NodeProcess {
  const child = spawn('node', [CLI, 'node', '--config', net.layout.configFiles[i]!], {
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, DAGGER_KAFKA_BROKERS: KAFKA },
  });
  const log: string[] = [];
  child.stderr!.on('data', (d: Buffer) => {
    log.push(d.toString());
    if (log.length > 300) log.shift();
  });
  const proc = { child, log };
  net.procs[i] = proc;
  return proc;
}

export function exited(child: ChildProcess): Promise<void> {
  return new Promise((done) => {
    if (child.exitCode !== null || child.signalCode !== null) return done();
    child.once('exit', () => done());
  });
}

/** SIGTERM, then SIGKILL after 10 s. */
export async function stopProcess(proc: NodeProcess | null): Promise<void> {
  if (!proc) return;
  const { child } = proc;
  if (child.exitCode !== null || child.signalCode !== null) return;
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  child.kill('SIGTERM');
  await exited(child);
  clearTimeout(timer);
}

export const tail = (proc: NodeProcess | null, lines = 20): string =>
  (proc?.log ?? []).join('').split('\n').slice(-lines).join('\n');
