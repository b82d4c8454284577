import type { INestApplication } from '@nestjs/common';
import { sha256, signerFromSecretKey, type Signer } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/envelope.js';
import type {
  AccountView,
  HostView,
  OperatorView,
  Page,
  PageRequest,
  PayloadStatusView,
  ProposalView,
  ReadModelQueries,
  RoundView,
  VmView,
} from '../../../projections/read-models.js';
import { createNodeApp } from '../../../src/api/app.js';
import type {
  ApiLogger,
  IntakeItem,
  IntakeOutbox,
  IntakePublisher,
  NodeAppOptions,
} from '../../../src/api/ports.js';
import { detachedRuntime, type RuntimeHandle } from '../../../src/api/tokens.js';

/** Test doubles for the API's ports; the real adapters are tested with their own modules. */

export function fakeRuntime(): RuntimeHandle {
  return detachedRuntime('ab'.repeat(32));
}

/** An outbox in memory; `delayMs` makes each append resolve late, `failing` makes it reject. */
export class MemoryOutbox implements IntakeOutbox {
  readonly stored = new Map<string, Uint8Array>();
  readonly appends: string[][] = [];
  delayMs = 0;
  failing = false;
  /** Ids whose append has resolved (durable), in order. */
  readonly durable: string[] = [];

  async append(items: readonly IntakeItem[]): Promise<void> {
    this.appends.push(items.map((i) => i.payloadId));
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    if (this.failing) throw new Error('disk on fire');
    for (const i of items)
      if (!this.stored.has(i.payloadId)) {
        this.stored.set(i.payloadId, i.bytes);
        this.durable.push(i.payloadId);
      }
  }

  async status(payloadId: string): Promise<'pending' | null> {
    return this.stored.has(payloadId) ? 'pending' : null;
  }
}

export class RecordingPublisher implements IntakePublisher {
  readonly published: Uint8Array[] = [];
  failing = false;
  async publish(items: readonly IntakeItem[]): Promise<void> {
    if (this.failing) throw new Error('bus down');
    for (const i of items) this.published.push(i.bytes);
  }
}

function pageOf<T>(rows: readonly T[], id: (t: T) => string, req: PageRequest = {}): Page<T> {
  const sorted = [...rows].sort((a, b) => (id(a) < id(b) ? -1 : id(a) > id(b) ? 1 : 0));
  const from = req.after === undefined ? sorted : sorted.filter((r) => id(r) > req.after!);
  const limit = req.limit ?? 100;
  const items = from.slice(0, limit);
  return from.length > limit ? { items, next: id(items.at(-1)!) } : { items };
}

export class MemoryReadModels implements ReadModelQueries {
  vmRows: VmView[] = [];
  hostRows: HostView[] = [];
  operatorRows: OperatorView[] = [];
  proposalRows: ProposalView[] = [];
  accountRows: AccountView[] = [];
  payloadRows: PayloadStatusView[] = [];
  readonly calls: { method: string; arg: unknown }[] = [];

  async vm(vmId: string) {
    return this.vmRows.find((v) => v.vmId === vmId) ?? null;
  }
  async vms(page: PageRequest & { owner?: string; hostId?: string } = {}) {
    this.calls.push({ method: 'vms', arg: page });
    const rows = this.vmRows.filter(
      (v) =>
        (page.owner === undefined || v.owner === page.owner) &&
        (page.hostId === undefined || v.hostId === page.hostId),
    );
    return pageOf(rows, (v) => v.vmId, page);
  }
  async hosts(page?: PageRequest) {
    return pageOf(this.hostRows, (h) => h.hostId, page);
  }
  async operators(page?: PageRequest) {
    return pageOf(this.operatorRows, (o) => o.operatorKey, page);
  }
  async proposals(page?: PageRequest) {
    return pageOf(this.proposalRows, (p) => p.proposalId, page);
  }
  async account(key: string) {
    return this.accountRows.find((a) => a.key === key) ?? null;
  }
  async payload(payloadId: string) {
    return this.payloadRows.find((p) => p.payloadId === payloadId) ?? null;
  }
  async rounds(): Promise<Page<RoundView>> {
    return { items: [] };
  }
  async checkpoint() {
    return -1;
  }
}

export function vmView(vmId: string, owner: string, hostId: string | null = null): VmView {
  return {
    vmId,
    owner,
    name: vmId,
    hostId,
    vcpus: 1,
    memoryMiB: 512,
    diskGiB: 10,
    image: 'blank',
    status: 'running',
    statusReason: '',
    requestId: 'cd'.repeat(32),
    addresses: ['10.0.0.2'],
    updatedAt: 7,
  };
}

export const testSigner = (seed = 1): Signer => signerFromSecretKey(new Uint8Array(32).fill(seed));

let nonceCounter = 0;
export function nonce(): string {
  return `nonce-${process.pid}-${++nonceCounter}`.padEnd(8, 'x');
}

export function signed(payload: Record<string, unknown> & { type: string }, signer = testSigner()) {
  return signPayload(payload, signer, sha256);
}

export function vmCreate(extra: Record<string, unknown> = {}) {
  return {
    type: 'vm.create',
    nonce: nonce(),
    expiresAt: 4_000_000_000_000,
    name: 'web-1',
    vcpus: 2,
    memoryMiB: 1024,
    diskGiB: 20,
    ...extra,
  };
}

export interface TestApp {
  readonly app: INestApplication;
  readonly url: string;
  readonly outbox: MemoryOutbox;
  readonly publisher: RecordingPublisher;
  readonly readModels: MemoryReadModels;
  readonly logs: Parameters<ApiLogger>[0][];
  close(): Promise<void>;
}

export async function startTestApp(
  options: Partial<NodeAppOptions> & { withIntake?: boolean } = {},
): Promise<TestApp> {
  const outbox = new MemoryOutbox();
  const publisher = new RecordingPublisher();
  const readModels = new MemoryReadModels();
  const logs: Parameters<ApiLogger>[0][] = [];
  const { withIntake = true, ...rest } = options;
  const app = await createNodeApp(fakeRuntime(), {
    ...(withIntake ? { intake: { outbox, publisher } } : {}),
    readModels,
    log: (e) => void logs.push(e),
    ...rest,
  });
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address() as { port: number };
  return {
    app,
    url: `http://127.0.0.1:${address.port}`,
    outbox,
    publisher,
    readModels,
    logs,
    close: () => app.close(),
  };
}

export async function post(url: string, body: string | object, headers: Record<string, string> = {}) {
  const res = await fetch(`${url}/v1/payloads`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  return { status: res.status, body: (await res.json()) as Record<string, any> };
}

export async function get(url: string, path: string) {
  const res = await fetch(`${url}${path}`);
  const text = await res.text();
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  let body: any = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON (e.g. /metrics)
  }
  return { status: res.status, body, headers: res.headers };
}
