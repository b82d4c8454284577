import { randomBytes } from 'node:crypto';
import { fromHex, sha256, signerFromSecretKey } from '../../domain/crypto/index.js';
import { signPayload } from '../../domain/payloads/index.js';
import { LIMITS, type ReportedStatus } from '../../domain/payloads/schemas.js';
import type { LedgerRecord, VmOperation, VmSpec } from '../../domain/processor/events.js';
import { compilePlan, type CompiledPlan, type HostPlanInput, PlanError } from '../../infra/plans/index.js';
import type { EventStore } from '../eventstore/event-store.js';
import type { GenesisHost, NodeKey } from '../node/genesis.js';
import { STREAMS } from '../node/node-runtime.js';
import type { ApplierFor, AppliedVm, ApplyResult } from './applier.js';
import { isPermanent, ProvisioningError } from './errors.js';
import { planHost } from './plan-only-applier.js';

export const sagaStream = (vmId: string): string => `saga-${vmId}`;

export type SagaStep = 'apply' | 'compensate' | 'release';

/** What stream `saga-<vmId>` holds. Every event names the request (payload id) it works on. */
export type SagaEvent =
  | {
      readonly type: 'StepStarted';
      readonly requestId: string;
      readonly step: SagaStep;
      readonly attempt: number;
    }
  | {
      readonly type: 'StepSucceeded';
      readonly requestId: string;
      readonly step: SagaStep;
      readonly result: ApplyResult | null;
    }
  | {
      readonly type: 'StepFailed';
      readonly requestId: string;
      readonly step: SagaStep;
      readonly attempt: number;
      readonly code: string;
      readonly message: string;
    }
  | {
      /** Written before the payload goes out, so a restart sends the same bytes again, never new ones. */
      readonly type: 'ReportSubmitted';
      readonly requestId: string;
      readonly status: ReportedStatus;
      readonly payloadId: string;
      readonly envelope: string;
    }
  | {
      readonly type: 'OperationClosed';
      readonly requestId: string;
      readonly outcome: 'reported' | 'superseded' | 'too late' | 'released';
    };

/** What the saga needs of the node runtime. */
export interface SagaLedger {
  onLedger(listener: (records: readonly LedgerRecord[]) => void): void;
  accept(payloads: readonly Uint8Array[]): Promise<void>;
}

export type SagaLogger = (
  level: 'info' | 'warn' | 'error',
  message: string,
  fields?: Record<string, unknown>,
) => void;

export interface SagaOptions {
  readonly ledger: SagaLedger;
  readonly store: EventStore;
  readonly key: NodeKey;
  readonly genesisHosts: readonly GenesisHost[];
  readonly applierFor: ApplierFor;
  readonly log?: SagaLogger;
  /** Apply attempts per operation (default 6), backoff from baseMs doubling up to maxMs. */
  readonly retry?: { readonly attempts?: number; readonly baseMs?: number; readonly maxMs?: number };
  /** A report must be ordered before the deadline: give up this long (µs) before it. Default 2 s. */
  readonly reportMarginMicros?: number;
  /** How long to wait (ms) for `provisioning` to be ordered before the final report. Default 20 s. */
  readonly orderWaitMs?: number;
}

interface OperationTask {
  readonly kind: 'operation';
  readonly vmId: string;
  readonly requestId: string;
  readonly operation: VmOperation;
  readonly hostId: string;
  readonly spec: VmSpec;
  readonly deadline: number;
}

/** A VM this node worked on was destroyed without a destroy operation for it (it had no host). */
interface ReleaseTask {
  readonly kind: 'release';
  readonly vmId: string;
  readonly requestId: string;
  readonly hostId: string;
}

type Task = OperationTask | ReleaseTask;

interface VmFacts {
  readonly name: string;
  readonly image: string;
  readonly sshKeys: readonly string[];
  readonly userData: string | null;
  spec: VmSpec;
}

/** What the processor accepts per open operation (docs/processor.md, "Operator reports"). */
const REPORTABLE: Record<VmOperation, readonly ReportedStatus[]> = {
  create: ['provisioning', 'running', 'failed', 'blocked'],
  start: ['running', 'failed'],
  stop: ['stopped', 'failed'],
  resize: ['running', 'stopped', 'failed'],
  destroy: ['destroyed', 'failed'],
};

/** The events of one saga stream, and its revision for the next append. */
class SagaHistory {
  constructor(
    readonly vmId: string,
    readonly events: SagaEvent[],
    public revision: bigint,
  ) {}
  closed(requestId: string): boolean {
    return this.events.some((e) => e.type === 'OperationClosed' && e.requestId === requestId);
  }
  succeeded(requestId: string, step: SagaStep): ApplyResult | null | undefined {
    const e = this.events.find(
      (x) => x.type === 'StepSucceeded' && x.requestId === requestId && x.step === step,
    ) as Extract<SagaEvent, { type: 'StepSucceeded' }> | undefined;
    return e ? e.result : undefined;
  }
  attempts(requestId: string, step: SagaStep): number {
    return this.events.filter((e) => e.type === 'StepStarted' && e.requestId === requestId && e.step === step)
      .length;
  }
  reports(requestId: string): Extract<SagaEvent, { type: 'ReportSubmitted' }>[] {
    return this.events.filter(
      (e): e is Extract<SagaEvent, { type: 'ReportSubmitted' }> =>
        e.type === 'ReportSubmitted' && e.requestId === requestId,
    );
  }
}

const eventIdOf = (e: SagaEvent): string => {
  switch (e.type) {
    case 'StepStarted':
    case 'StepFailed':
      return `${e.requestId}:${e.type}:${e.step}:${e.attempt}`;
    case 'StepSucceeded':
      return `${e.requestId}:${e.type}:${e.step}`;
    case 'ReportSubmitted':
      return `${e.requestId}:${e.type}:${e.status}`;
    case 'OperationClosed':
      return `${e.requestId}:${e.type}`;
  }
};

/**
 * The provisioning saga: carries out the operations the ledger assigns to this node's operator
 * and reports each result as a signed vm.report through consensus. Its progress lives in stream
 * `saga-<vmId>`, so a restart resumes where it stopped and never repeats a finished step or
 * report. Operations on one VM run one after the other; VMs run side by side. "Too late" is
 * judged on consensus time (the latest ledger record), never on the local clock.
 */
export class ProvisioningSaga {
  private readonly me: string;
  private readonly hosts = new Map<string, HostPlanInput & { operator: string }>();
  private readonly vms = new Map<string, VmFacts>();
  /** The request each VM answers now: a report naming another is stale. */
  private readonly current = new Map<string, string>();
  /** The host a VM last had for an operation of ours. */
  private readonly ourHost = new Map<string, string>();
  private readonly ourRequests = new Set<string>();
  /** Ids of payloads this node signed that the ledger has decided (accepted or rejected). */
  private readonly decided = new Set<string>();
  private readonly orderWaiters = new Map<string, () => void>();
  private readonly histories = new Map<string, SagaHistory>();
  private readonly queues = new Map<string, Promise<void>>();
  private readonly wakeups = new Set<() => void>();
  private buffered: LedgerRecord[] = [];
  private nextIndex = 0;
  private live = false;
  private stopped = false;
  private now = 0;

  constructor(private readonly options: SagaOptions) {
    this.me = options.key.publicKey;
    for (const h of options.genesisHosts)
      this.hosts.set(h.hostId, { hostId: h.hostId, libvirtUri: h.libvirtUri, operator: h.operator });
  }

  /** Catches up from stream `ledger`, resumes what is unfinished, then follows the ledger live. */
  async start(): Promise<void> {
    this.options.ledger.onLedger((records) => this.offer(records));
    const pending: Task[] = [];
    for await (const e of this.options.store.readStream(STREAMS.ledger)) {
      const record = JSON.parse(new TextDecoder().decode(e.data)) as LedgerRecord;
      const task = this.observe(record);
      if (task) pending.push(task);
    }
    this.live = true;
    const resumed = pending.length;
    for (const t of pending) this.schedule(t);
    const early = this.buffered;
    this.buffered = [];
    this.offer(early);
    if (resumed > 0) this.log('info', 'provisioning saga resuming', { tasks: resumed });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const wake of this.wakeups) wake();
    for (const wake of this.orderWaiters.values()) wake();
    await this.settled();
  }

  /** Resolves once every task scheduled so far has finished. */
  async settled(): Promise<void> {
    while (this.queues.size > 0) await Promise.all([...this.queues.values()]);
  }

  /** Reads a saga stream (for tests and tools). */
  async history(vmId: string): Promise<readonly SagaEvent[]> {
    return (await this.load(vmId)).events;
  }

  private offer(records: readonly LedgerRecord[]): void {
    if (!this.live) {
      this.buffered.push(...records);
      return;
    }
    for (const r of records) {
      const task = this.observe(r);
      if (task) this.schedule(task);
    }
  }

  /** Folds one ledger record into what the saga knows; returns the work it asks of this node. */
  private observe(r: LedgerRecord): Task | null {
    if (r.ledgerIndex < this.nextIndex) return null;
    this.nextIndex = r.ledgerIndex + 1;
    if (r.at.consensusTimestamp > this.now) this.now = r.at.consensusTimestamp;
    const e = r.event;
    switch (e.type) {
      case 'HostRegistered':
        this.hosts.set(e.hostId, { hostId: e.hostId, libvirtUri: e.libvirtUri, operator: e.operator });
        return null;
      case 'HostUpdated': {
        const h = this.hosts.get(e.hostId);
        if (h) this.hosts.set(e.hostId, { ...h, libvirtUri: e.libvirtUri });
        return null;
      }
      case 'VmRequested':
        this.vms.set(e.vmId, {
          name: e.name,
          image: e.image,
          sshKeys: e.sshKeys,
          userData: e.userData,
          spec: e.spec,
        });
        return null;
      case 'VmOperationRequested': {
        this.current.set(e.vmId, e.requestId);
        const vm = this.vms.get(e.vmId);
        if (vm) vm.spec = e.spec;
        if (e.operator !== this.me) return null;
        this.ourHost.set(e.vmId, e.hostId);
        this.ourRequests.add(e.requestId);
        return { kind: 'operation', ...e };
      }
      case 'VmStatusChanged':
        this.current.set(e.vmId, e.requestId);
        if (e.status !== 'destroyed' || this.ourRequests.has(e.requestId)) return null;
        {
          const hostId = this.ourHost.get(e.vmId);
          return hostId ? { kind: 'release', vmId: e.vmId, requestId: e.requestId, hostId } : null;
        }
      case 'PayloadAccepted':
      case 'PayloadRejected':
        if (e.signer === this.me) {
          this.decided.add(e.payloadId);
          this.orderWaiters.get(e.payloadId)?.();
        }
        return null;
      default:
        return null;
    }
  }

  private schedule(task: Task): void {
    const prior = this.queues.get(task.vmId) ?? Promise.resolve();
    const run = prior
      .then(() => (this.stopped ? undefined : this.runTask(task)))
      .catch((err: unknown) =>
        this.log('error', 'provisioning step failed; it resumes at the next start', {
          vmId: task.vmId,
          requestId: task.requestId,
          error: String(err),
        }),
      )
      .finally(() => {
        if (this.queues.get(task.vmId) === run) this.queues.delete(task.vmId);
      });
    this.queues.set(task.vmId, run);
  }

  private async runTask(task: Task): Promise<void> {
    const history = await this.load(task.vmId);
    if (history.closed(task.requestId)) return;
    if (task.kind === 'release') return this.release(task, history);
    return this.operate(task, history);
  }

  private async operate(task: OperationTask, history: SagaHistory): Promise<void> {
    const { requestId, operation } = task;
    await this.resend(history, requestId);
    const vm = this.appliedVm(task.vmId, task.hostId, task.spec);
    let plan: CompiledPlan | null = null;
    let result: ApplyResult | null | undefined = history.succeeded(requestId, 'apply') ?? undefined;
    try {
      plan = compilePlan(vm, planHost(vm.host));
    } catch (err) {
      if (!(err instanceof PlanError)) throw err;
      result ??= { status: 'failed', detail: `the plan does not compile: ${err.message}`, addresses: [] };
    }
    if (result === undefined) {
      if (!this.isCurrent(task)) return this.close(history, requestId, 'superseded');
      if (this.tooLate(task.deadline)) return this.giveUp(task, history, plan, vm);
      if (operation === 'create' && !history.reports(requestId).some((r) => r.status === 'provisioning'))
        await this.report(history, task, 'provisioning', `applying plan dagger-${task.vmId}`, []);
      result = await this.applyWithRetry(task, history, plan!, vm);
    }
    if (!result) return;
    if (result.status === 'failed' && operation === 'create' && plan)
      await this.compensate(history, requestId, plan, vm);
    if (!this.isCurrent(task)) return this.close(history, requestId, 'superseded');
    if (this.tooLate(task.deadline)) return this.close(history, requestId, 'too late');
    const status: ReportedStatus = REPORTABLE[operation].includes(result.status) ? result.status : 'failed';
    const detail =
      status === result.status ? result.detail : `the applier answered ${result.status} for a ${operation}`;
    const provisioning = history.reports(requestId).find((r) => r.status === 'provisioning');
    if (provisioning) await this.ordered(provisioning.payloadId);
    await this.report(history, task, status, detail, status === 'failed' ? [] : result.addresses);
    await this.close(history, requestId, 'reported');
  }

  /** Applies with backoff; null when the saga stopped or the deadline came first. */
  private async applyWithRetry(
    task: OperationTask,
    history: SagaHistory,
    plan: CompiledPlan,
    vm: AppliedVm,
  ): Promise<ApplyResult | null> {
    const applier = this.options.applierFor(vm.host);
    const attempts = this.options.retry?.attempts ?? 6;
    const baseMs = this.options.retry?.baseMs ?? 200;
    const maxMs = this.options.retry?.maxMs ?? 5000;
    for (let attempt = history.attempts(task.requestId, 'apply') + 1; ; attempt++) {
      if (this.stopped) return null;
      await this.append(history, { type: 'StepStarted', requestId: task.requestId, step: 'apply', attempt });
      try {
        const result = await applier.apply(plan, task.operation, vm);
        await this.append(history, {
          type: 'StepSucceeded',
          requestId: task.requestId,
          step: 'apply',
          result,
        });
        return result;
      } catch (err) {
        const code = err instanceof ProvisioningError ? err.code : 'APPLY_TRANSIENT';
        const message = err instanceof Error ? err.message : String(err);
        await this.append(history, {
          type: 'StepFailed',
          requestId: task.requestId,
          step: 'apply',
          attempt,
          code,
          message,
        });
        this.log('warn', 'apply failed', {
          vmId: task.vmId,
          operation: task.operation,
          attempt,
          code,
          message,
        });
        if (isPermanent(err) || attempt >= attempts) {
          const result: ApplyResult = { status: 'failed', detail: message, addresses: [] };
          await this.append(history, {
            type: 'StepSucceeded',
            requestId: task.requestId,
            step: 'apply',
            result,
          });
          return result;
        }
        await this.sleep(Math.min(baseMs * 2 ** (attempt - 1), maxMs));
        if (this.stopped) return null;
        if (this.tooLate(task.deadline)) {
          await this.giveUp(task, history, plan, vm);
          return null;
        }
      }
    }
  }

  /** The deadline passed: the processor fails the operation itself; undo a create's leftovers. */
  private async giveUp(
    task: OperationTask,
    history: SagaHistory,
    plan: CompiledPlan | null,
    vm: AppliedVm,
  ): Promise<void> {
    if (task.operation === 'create' && plan) await this.compensate(history, task.requestId, plan, vm);
    this.log('warn', 'operation deadline passed; not reporting', {
      vmId: task.vmId,
      requestId: task.requestId,
    });
    await this.close(history, task.requestId, 'too late');
  }

  private async compensate(
    history: SagaHistory,
    requestId: string,
    plan: CompiledPlan,
    vm: AppliedVm,
  ): Promise<void> {
    if (history.succeeded(requestId, 'compensate') !== undefined) return;
    const attempt = history.attempts(requestId, 'compensate') + 1;
    await this.append(history, { type: 'StepStarted', requestId, step: 'compensate', attempt });
    await this.options.applierFor(vm.host).compensate(plan, vm);
    await this.append(history, { type: 'StepSucceeded', requestId, step: 'compensate', result: null });
  }

  private async release(task: ReleaseTask, history: SagaHistory): Promise<void> {
    const facts = this.vms.get(task.vmId);
    if (!facts) throw new ProvisioningError('UNKNOWN_RESOURCE', `no VmRequested for ${task.vmId}`);
    const vm = this.appliedVm(task.vmId, task.hostId, facts.spec);
    const attempt = history.attempts(task.requestId, 'release') + 1;
    await this.append(history, { type: 'StepStarted', requestId: task.requestId, step: 'release', attempt });
    const result = await this.options
      .applierFor(vm.host)
      .apply(compilePlan(vm, planHost(vm.host)), 'destroy', vm);
    await this.append(history, { type: 'StepSucceeded', requestId: task.requestId, step: 'release', result });
    await this.close(history, task.requestId, 'released');
  }

  private appliedVm(vmId: string, hostId: string, spec: VmSpec): AppliedVm {
    const facts = this.vms.get(vmId);
    const host = this.hosts.get(hostId);
    if (!facts || !host)
      throw new ProvisioningError('UNKNOWN_RESOURCE', `VM ${vmId} on host ${hostId} is not in the ledger`);
    return {
      vmId,
      name: facts.name,
      image: facts.image,
      sshKeys: facts.sshKeys,
      userData: facts.userData,
      vcpus: spec.vcpus,
      memoryMiB: spec.memoryMiB,
      diskGiB: spec.diskGiB,
      host: this.planInput({ hostId: host.hostId, libvirtUri: host.libvirtUri }),
    };
  }

  /** The host as its applier compiles plans (pool, network, domain type of this node's libvirt). */
  private planInput(host: HostPlanInput): HostPlanInput {
    return this.options.applierFor(host).planInput?.(host) ?? host;
  }

  private isCurrent(task: OperationTask): boolean {
    return this.current.get(task.vmId) === task.requestId;
  }

  private tooLate(deadline: number): boolean {
    return this.now + (this.options.reportMarginMicros ?? 2_000_000) >= deadline;
  }

  /** Signs a report, records it, then hands it to consensus; a report already recorded is only re-sent. */
  private async report(
    history: SagaHistory,
    task: OperationTask,
    status: ReportedStatus,
    detail: string,
    addresses: readonly string[],
  ): Promise<void> {
    if (history.reports(task.requestId).some((r) => r.status === status)) return;
    const signer = signerFromSecretKey(fromHex(this.options.key.secretKey));
    const payload = {
      type: 'vm.report',
      nonce: randomBytes(12).toString('base64url'),
      expiresAt: Date.now() + 300_000,
      vmId: task.vmId,
      requestId: task.requestId,
      status,
      detail: detail.slice(0, LIMITS.detailChars),
      addresses: addresses.slice(0, LIMITS.addresses),
    };
    const { bytes, payloadId } = signPayload(payload, signer, sha256);
    await this.append(history, {
      type: 'ReportSubmitted',
      requestId: task.requestId,
      status,
      payloadId,
      envelope: Buffer.from(bytes).toString('base64'),
    });
    await this.options.ledger.accept([bytes]);
    this.log('info', 'vm.report submitted', { vmId: task.vmId, requestId: task.requestId, status });
  }

  /** Reports recorded before a crash and not decided yet go out again, the same bytes. */
  private async resend(history: SagaHistory, requestId: string): Promise<void> {
    const unsent = history.reports(requestId).filter((r) => !this.decided.has(r.payloadId));
    if (unsent.length > 0)
      await this.options.ledger.accept(unsent.map((r) => new Uint8Array(Buffer.from(r.envelope, 'base64'))));
  }

  private ordered(payloadId: string): Promise<void> {
    if (this.decided.has(payloadId) || this.stopped) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.orderWaiters.delete(payloadId);
        resolve();
      };
      const timer = setTimeout(done, this.options.orderWaitMs ?? 20_000);
      this.orderWaiters.set(payloadId, done);
    });
  }

  private close(
    history: SagaHistory,
    requestId: string,
    outcome: Extract<SagaEvent, { type: 'OperationClosed' }>['outcome'],
  ) {
    return this.append(history, { type: 'OperationClosed', requestId, outcome });
  }

  private async load(vmId: string): Promise<SagaHistory> {
    const cached = this.histories.get(vmId);
    if (cached) return cached;
    const events: SagaEvent[] = [];
    let revision = -1n;
    for await (const e of this.options.store.readStream(sagaStream(vmId))) {
      try {
        events.push(JSON.parse(new TextDecoder().decode(e.data)) as SagaEvent);
      } catch {
        throw new ProvisioningError('CORRUPT_SAGA', `${sagaStream(vmId)}@${e.revision} is not JSON`);
      }
      revision = e.revision;
    }
    const history = new SagaHistory(vmId, events, revision);
    this.histories.set(vmId, history);
    return history;
  }

  private async append(history: SagaHistory, event: SagaEvent): Promise<void> {
    const { vmId } = history;
    try {
      const res = await this.options.store.append(
        sagaStream(vmId),
        [
          {
            eventId: eventIdOf(event),
            type: event.type,
            data: new TextEncoder().encode(JSON.stringify(event)),
          },
        ],
        history.revision,
      );
      history.revision = res.nextExpectedRevision;
      history.events.push(event);
    } catch (err) {
      this.histories.delete(vmId);
      throw err;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = () => {
        clearTimeout(timer);
        this.wakeups.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.wakeups.add(wake);
    });
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }
}
