/* eslint-disable @typescript-eslint/no-explicit-any -- JSON answers of the API under test */
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fromHex, sha256, signerFromSecretKey } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/index.js';
import type { CommsBus } from '../../../src/bus/comms-bus.js';
import { openCommsBus } from '../../../src/bus/open.js';
import { type NodeKey, nodeKeyFromSecret } from '../../../src/node/genesis.js';
import { type NodeConfig, type RunningNode, startNode } from '../../../src/node/launcher.js';
import { type NetworkLayout, writeNetwork } from '../../../src/node/network-files.js';

/** An in-process devnet on the embedded defaults (memory bus, SQLite), driven over HTTP. */
export interface Devnet {
  readonly dir: string;
  readonly layout: NetworkLayout;
  readonly nodes: (RunningNode | null)[];
  readonly bus: CommsBus;
  readonly port: number;
  urls(): string[];
  start(i: number, config?: NodeConfig): Promise<RunningNode>;
  stop(): Promise<void>;
}

/** `saga: false` (the default) starts no provisioning saga: tests send operators' reports by hand. */
export async function startDevnet(nodes: number, options: { saga?: boolean } = {}): Promise<Devnet> {
  const dir = mkdtempSync(join(tmpdir(), 'dagger-e2e-'));
  // Below the kernel's ephemeral range (32768+).
  const port = 22_000 + 10 * Math.floor(Math.random() * 900);
  const layout = writeNetwork(dir, {
    nodes,
    network: `e2e-${Date.now()}`,
    host: '127.0.0.1',
    port,
    store: 'sqlite',
    bus: 'memory',
  });
  const bus = openCommsBus('memory');
  const running: (RunningNode | null)[] = layout.configs.map(() => null);
  const devnet: Devnet = {
    dir,
    layout,
    nodes: running,
    bus,
    port,
    urls: () => running.filter((n): n is RunningNode => n !== null).map((n) => n.url),
    async start(i, config) {
      const node = await startNode(config ?? layout.configs[i]!, {
        sharedBus: bus,
        ...(options.saga ? {} : { applierFor: null }),
      });
      running[i] = node;
      return node;
    },
    async stop() {
      for (const n of running) await n?.stop().catch(() => undefined);
      await bus.close();
    },
  };
  for (let i = 0; i < nodes; i++) await devnet.start(i);
  return devnet;
}

/** A config for a node that is not in genesis: same network, its own key and data dir. */
export function joinerConfig(devnet: Devnet, index: number): { config: NodeConfig; key: NodeKey } {
  const key = nodeKeyFromSecret(new Uint8Array(randomBytes(32)));
  const dataDir = join(devnet.dir, `node-${index}`);
  mkdirSync(dataDir, { recursive: true });
  const keyFile = join(dataDir, 'key.json');
  writeFileSync(keyFile, JSON.stringify(key));
  return {
    key,
    config: {
      genesis: join(devnet.dir, 'genesis.json'),
      key: keyFile,
      dataDir,
      api: { host: '127.0.0.1', port: devnet.port + index },
      store: { kind: 'sqlite' },
      bus: { kind: 'memory' },
    },
  };
}

export interface Client {
  readonly key: string;
  sign(payload: Record<string, unknown> & { type: string }): { envelope: unknown; payloadId: string };
}

export function client(secretHex?: string): Client {
  const secret = secretHex ? fromHex(secretHex) : new Uint8Array(randomBytes(32));
  const signer = signerFromSecretKey(secret);
  return {
    key: Buffer.from(signer.publicKey).toString('hex'),
    sign(payload) {
      const full = {
        nonce: randomBytes(12).toString('base64url'),
        expiresAt: Date.now() + 600_000,
        ...payload,
      };
      const { envelope, payloadId } = signPayload(full, signer, sha256);
      return { envelope, payloadId };
    },
  };
}

export async function post(url: string, body: unknown): Promise<{ status: number; json: any }> {
  const res = await fetch(`${url}/v1/payloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return { status: res.status, json: await res.json().catch(() => null) };
}

/** Signs, posts to `url`, and expects 202 with the same payload id. */
export async function submit(
  url: string,
  who: Client,
  payload: Record<string, unknown> & { type: string },
): Promise<string> {
  const { envelope, payloadId } = who.sign(payload);
  const res = await post(url, envelope);
  if (res.status !== 202 || res.json?.payloadId !== payloadId)
    throw new Error(`POST ${payload.type} gave ${res.status} ${JSON.stringify(res.json)}`);
  return payloadId;
}

export async function getJson(url: string): Promise<any> {
  const res = await fetch(url);
  if (res.status === 404) return null;
  return res.json();
}

export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | null | undefined | false>,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Waits until every node's read models decided the payload; returns the statuses. */
export async function decided(urls: readonly string[], payloadId: string): Promise<any[]> {
  return Promise.all(
    urls.map((u) =>
      waitFor(`payload ${payloadId.slice(0, 8)} at ${u}`, async () => {
        const s = await getJson(`${u}/v1/payloads/${payloadId}`);
        return s && (s.status === 'accepted' || s.status === 'rejected') ? s : null;
      }),
    ),
  );
}

/** Waits until the VM on every node satisfies `ok`; returns the views. */
export async function vmEverywhere(
  urls: readonly string[],
  vmId: string,
  ok: (vm: any) => boolean,
  timeoutMs = 30_000,
): Promise<any[]> {
  return Promise.all(
    urls.map((u) =>
      waitFor(
        `vm ${vmId} at ${u}`,
        async () => {
          const vm = await getJson(`${u}/v1/vms/${vmId}`);
          return vm && ok(vm) ? vm : null;
        },
        timeoutMs,
      ),
    ),
  );
}
