import { createHash } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier, fromHex } from '../../domain/crypto/index.js';
import { decodeEvent, type Hex, type SignedEvent, toHex } from '../../domain/shadowgraph/event.js';
import type { MembershipChange } from '../../domain/shadowgraph/membership.js';
import type { OrderedEvent } from '../../domain/shadowgraph/hashgraph.js';
import { type Ready, ShadowGraphNode } from '../../domain/shadowgraph/node.js';
import {
  type BusMessage,
  type BusSubscription,
  type CommsBus,
  CommsBusError,
  type Delivery,
} from '../bus/comms-bus.js';
import type { EventStore, NewEvent, StreamAppend } from '../eventstore/event-store.js';
import { type LedgerRecord, ledgerRecordText } from '../../domain/processor/events.js';
import { OrderHashChain } from '../shared/order-hash.js';
import { canonicalGenesis, type Genesis, genesisHash, networkPrefix, type NodeKey } from './genesis.js';
import { decodeFrame, encodeFrame, eventFrames, type InboxFrame } from './wire.js';

/**
 * One DAGGER node's ledger runtime: intake from the bus, the heartbeat, gossip and fetching,
 * persistence, and the consensus order. Every input goes through one serial mailbox, so the
 * pure ShadowGraphNode sees one input at a time. Effects are performed in the order the core's
 * contract asks: own events persisted before they are gossiped, peers' events persisted before
 * the bus offsets that delivered them are committed, payloads acknowledged to the bus only once
 * an own event holding them is persisted.
 */

export const STREAMS = {
  genesis: 'genesis',
  consensus: 'consensus',
  ledger: 'ledger',
  shadowgraph: (creator: Hex) => `shadowgraph-${creator}`,
} as const;

export const EVENT_TYPES = {
  genesis: 'Genesis',
  shadowgraphEvent: 'ShadowGraphEvent',
  eventOrdered: 'EventOrdered',
  ledgerRecord: 'LedgerRecord',
} as const;

/**
 * The deterministic processor as the runtime drives it. `onRound` runs inside the core's
 * membership port, once per decided round in order, so membership derives from the ledger.
 * Records it produces are taken with `drain` and appended to `ledger` after `consensus`.
 */
export interface LedgerPort {
  onRound(round: number, ordered: readonly OrderedEvent[]): MembershipChange[];
  drain(): readonly LedgerRecord[];
  /** The state root after the last decided round, with that round; null before the first. */
  latestRoot(): { readonly round: number; readonly root: Uint8Array } | null;
  /** The root this node computed for a round it decided recently, if it still remembers it. */
  rootOf(round: number): Uint8Array | undefined;
  /** Operators whose stake counts now or soon (admitted, not removed): the peers to talk to. */
  operators(): readonly Hex[];
  /** The first round in which this key's stake counts; null if it is not (or no longer) a member. */
  memberSince(key: Hex): number | null;
}

export interface Topics {
  readonly payloads: string;
  readonly gossip: string;
  inbox(member: Hex): string;
}

export function topicsFor(genesis: Genesis): Topics {
  const prefix = networkPrefix(genesis);
  return {
    payloads: `${prefix}.payloads`,
    gossip: `${prefix}.gossip`,
    inbox: (member: Hex) => `${prefix}.inbox.${member.slice(0, 16)}`,
  };
}

export const PAYLOAD_PARTITIONS = 8;
/** Undecided rounds above which a joining member counts as still catching up. */
const CAUGHT_UP_ROUNDS = 6;
/** Most events one sync response carries. */
const SYNC_LIMIT = 4096;

export interface NodeRuntimeOptions {
  readonly genesis: Genesis;
  readonly key: NodeKey;
  readonly store: EventStore;
  /**
   * Commits the steps' appends to the same data as `store` another way, e.g. a SqliteWriterThread
   * whose fsync does not block the event loop; `store` takes over once it is `broken`.
   */
  readonly stepAppender?: Pick<EventStore, 'appendMany'> & { readonly broken?: boolean };
  readonly bus: CommsBus;
  /** Microseconds since the epoch. */
  readonly clock?: () => number;
  readonly tickMs?: number;
  readonly syncMs?: number;
  /** A payload accepted here and not ordered within this time goes into our own next event. */
  readonly orderTimeoutMs?: number;
  /** How long start() waits for a bus that answers BUS_UNAVAILABLE (a broker still starting). */
  readonly busStartupTimeoutMs?: number;
  /** Without it payloads stay opaque (benches, consensus-only tests). Excludes `membershipChanges`. */
  readonly ledger?: LedgerPort;
  readonly membershipChanges?: (round: number, ordered: readonly OrderedEvent[]) => MembershipChange[];
  readonly log?: (
    level: 'info' | 'warn' | 'error',
    message: string,
    fields?: Record<string, unknown>,
  ) => void;
}

export interface LedgerHead {
  readonly round: number;
  readonly consensusIndex: number;
  readonly orderHash: string;
  readonly stateRoot: string | null;
}

export interface GraphEvent {
  readonly id: Hex;
  readonly creator: Hex;
  readonly seq: number;
  readonly selfParent: Hex | null;
  readonly otherParent: Hex | null;
  readonly timestamp: number;
  readonly payloads: number;
  readonly round: number;
  readonly witness: boolean;
  /** null while undecided (and for events that are not witnesses). */
  readonly famous: boolean | null;
  readonly roundReceived: number | null;
}

export interface OrderedRecord {
  readonly eventId: Hex;
  readonly creator: Hex;
  readonly seq: number;
  readonly round: number;
  readonly roundReceived: number;
  readonly consensusTimestamp: number;
  readonly consensusIndex: number;
  /** Running order hash after this event. */
  readonly orderHash: string;
  readonly payloads: number;
}

export class NodeRuntimeError extends Error {
  constructor(
    readonly code: 'GENESIS_MISMATCH' | 'STORE_DIVERGED' | 'NOT_RUNNING' | 'PERSIST_FAILED' | 'BAD_OPTIONS',
    message: string,
  ) {
    super(`${code}: ${message}`);
    this.name = 'NodeRuntimeError';
  }
}

export interface NodeStats {
  ownEvents: number;
  receivedEvents: number;
  rejectedEvents: number;
  forks: number;
  payloadsIn: number;
  orderedEvents: number;
  orderedPayloads: number;
  fetchesSent: number;
  syncsSent: number;
  /** Events sent to peers from the store because they were already pruned from memory. */
  eventsSentFromStore: number;
  ledgerRecords: number;
  /** Peers' events whose state root differs from ours for the same round. */
  stateRootMismatches: number;
}

export function emptyNodeStats(): NodeStats {
  return {
    ownEvents: 0,
    receivedEvents: 0,
    rejectedEvents: 0,
    forks: 0,
    payloadsIn: 0,
    orderedEvents: 0,
    orderedPayloads: 0,
    fetchesSent: 0,
    syncsSent: 0,
    eventsSentFromStore: 0,
    ledgerRecords: 0,
    stateRootMismatches: 0,
  };
}

export class NodeRuntime {
  readonly self: Hex;
  readonly topics: Topics;
  readonly stats: NodeStats = emptyNodeStats();
  /** The last state-root disagreement seen, for /health. */
  lastRootMismatch: {
    readonly creator: Hex;
    readonly round: number;
    readonly theirs: string;
    readonly ours: string;
  } | null = null;
  private node!: ShadowGraphNode;
  private readonly chain = new OrderHashChain(1 << 16);
  private readonly clock: () => number;
  private readonly subscriptions: BusSubscription[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private mailbox: Promise<unknown> = Promise.resolve();
  private outbox: Promise<void> = Promise.resolve();
  private readonly queued = new Set<string>();
  private running = false;
  private failure: Error | null = null;
  private lastRound = -1;
  /** Payloads taken from the bus, waiting for an own persisted event to hold them. */
  private readonly inclusion = new Map<Uint8Array, { resolve: () => void; reject: (e: Error) => void }>();
  private readonly awaitingOrder = new Map<string, { payload: Uint8Array; deadline: number }>();
  private readonly orderedListeners: ((
    records: readonly OrderedRecord[],
    events: readonly OrderedEvent[],
  ) => void)[] = [];
  private readonly ledgerListeners: ((records: readonly LedgerRecord[]) => void)[] = [];
  private ledgerLength = 0;
  /** The round of the state root our events carry. */
  private rootRound = -1;
  private peerTurn = 0;
  private joinIntake: (() => Promise<void>) | null = null;
  private readonly catchingUp = new Set<Hex>();
  private intake: BusSubscription | null = null;

  constructor(private readonly options: NodeRuntimeOptions) {
    this.self = options.key.publicKey;
    this.topics = topicsFor(options.genesis);
    this.clock = options.clock ?? (() => Math.floor((performance.timeOrigin + performance.now()) * 1000));
  }

  get isRunning(): boolean {
    return this.running;
  }

  get failed(): Error | null {
    return this.failure;
  }

  head(): LedgerHead {
    return {
      round: this.lastRound,
      consensusIndex: this.chain.length,
      orderHash: this.chain.head,
      stateRoot: rootHex(this.options.ledger?.latestRoot()?.root),
    };
  }

  /** h(index): from memory while recent, else from the `consensus` record at revision index - 1. */
  async orderHashAtIndex(index: number): Promise<string | undefined> {
    if (index > this.chain.length) return undefined;
    const recent = this.chain.at(index);
    if (recent !== undefined) return recent;
    for await (const r of this.options.store.readStream(STREAMS.consensus, {
      fromRevision: BigInt(index - 1),
      maxCount: 1,
    })) {
      const record = JSON.parse(new TextDecoder().decode(r.data)) as OrderedRecord;
      return record.orderHash;
    }
    return undefined;
  }

  lastDecidedRound(): number {
    return this.node ? this.node.graph.lastDecidedRound : -1;
  }

  forkCount(): number {
    return this.node ? this.node.graph.forkEvidence.length : 0;
  }

  /** The events in memory from `fromRound` on (a few rounds), with their consensus metadata, for explorers. */
  graphFrom(fromRound: number, rounds = 10): GraphEvent[] {
    if (!this.node) return [];
    const graph = this.node.graph;
    const out: GraphEvent[] = [];
    for (const id of graph.eventsOfRounds(fromRound, rounds)) {
      const e = graph.get(id);
      const d = graph.describe(id);
      if (!e || !d) continue;
      out.push({
        id,
        creator: toHex(e.body.creator),
        seq: e.body.seq,
        selfParent: e.body.selfParent ? toHex(e.body.selfParent) : null,
        otherParent: e.body.otherParent ? toHex(e.body.otherParent) : null,
        timestamp: e.body.timestamp,
        payloads: e.body.payloads.length,
        ...d,
      });
    }
    return out;
  }

  onOrdered(listener: (records: readonly OrderedRecord[], events: readonly OrderedEvent[]) => void): void {
    this.orderedListeners.push(listener);
  }

  /** Ledger records once they are durable in `ledger`, in order. */
  onLedger(listener: (records: readonly LedgerRecord[]) => void): void {
    this.ledgerListeners.push(listener);
  }

  get ledgerSize(): number {
    return this.ledgerLength;
  }

  // ---------------------------------------------------------------- lifecycle

  async start(): Promise<void> {
    const { genesis, key, bus } = this.options;
    await this.ensureGenesis();
    const settings = genesis.consensus;
    this.node = new ShadowGraphNode({
      genesis: genesis.members.map((m) => ({ key: m.key, stake: m.stake })),
      verify: (s, m, k) => strictVerifier.verify(s, m, k),
      signer: signerFromSecretKey(fromHex(key.secretKey)),
      hash: sha256,
      coinRoundFrequency: settings.coinRoundFrequency,
      membershipDelay: settings.membershipDelay,
      pruneHorizon: settings.pruneHorizon,
      heartbeat: {
        activeMicros: settings.heartbeatMs.active * 1000,
        idleMicros: settings.heartbeatMs.idle * 1000,
        eagerMicros: settings.heartbeatMs.eager * 1000,
      },
      ...this.membershipPort(),
    });
    await this.restore();

    const members = genesis.members.map((m) => m.key);
    await this.retryBus('creating topics', () =>
      bus.ensureTopics([
        { name: this.topics.payloads, partitions: PAYLOAD_PARTITIONS },
        { name: this.topics.gossip, partitions: Math.max(1, members.length) },
        ...[...new Set([...members, ...this.operators(), this.self])].map((m) => ({
          name: this.topics.inbox(m),
          partitions: 1,
        })),
      ]),
    );
    this.running = true;
    const me = this.self.slice(0, 16);
    const prefix = networkPrefix(genesis);
    const subscribe = (
      topic: string,
      group: string,
      fromBeginning: boolean,
      handler: (b: readonly Delivery[]) => Promise<void>,
    ) => this.retryBus(`joining ${group}`, () => bus.subscribe(topic, { group, fromBeginning }, handler));
    this.subscriptions.push(
      await subscribe(this.topics.gossip, `${prefix}.gossip.${me}`, false, (b) => this.onGossip(b)),
      await subscribe(this.topics.inbox(this.self), `${prefix}.inbox.${me}`, false, (b) => this.onInbox(b)),
    );
    this.joinIntake = () =>
      subscribe(this.topics.payloads, `${prefix}.intake`, true, (b) => this.onPayloads(b)).then((s) => {
        this.intake = s;
        this.subscriptions.push(s);
      });
    await this.maybeJoinIntake();
    const tickMs = this.options.tickMs ?? 5;
    this.timers.push(setInterval(() => this.enqueueOnce('tick', () => this.tick()), tickMs));
    this.timers.push(
      setInterval(() => this.enqueueOnce('sync', () => this.syncWithPeer()), this.options.syncMs ?? 500),
    );
    this.timers.push(setInterval(() => this.enqueueOnce('resubmit', () => this.resubmitOverdue()), 1000));
    await this.serial(() => this.syncWithPeer());
    this.log('info', 'node started', { self: me, network: prefix, consensusIndex: this.chain.length });
  }

  private membershipPort(): { membershipChanges?: NodeRuntimeOptions['membershipChanges'] } {
    const { ledger, membershipChanges } = this.options;
    if (ledger && membershipChanges)
      throw new NodeRuntimeError('BAD_OPTIONS', 'give either a ledger or membershipChanges, not both');
    if (ledger) return { membershipChanges: (r, ordered) => ledger.onRound(r, ordered) };
    return membershipChanges ? { membershipChanges } : {};
  }

  async stop(): Promise<void> {
    this.running = false;
    for (const t of this.timers) clearInterval(t);
    this.timers.length = 0;
    // Intake not yet in a persisted event fails its batch, so the bus redelivers it elsewhere.
    const stopping = new NodeRuntimeError('NOT_RUNNING', 'node stopping');
    for (const w of this.inclusion.values()) w.reject(stopping);
    this.inclusion.clear();
    for (const s of this.subscriptions.splice(0)) await s.stop().catch(() => undefined);
    await this.mailbox.catch(() => undefined);
    await this.outbox;
  }

  // ---------------------------------------------------------------- intake

  /**
   * Payloads accepted by this node's API: published for pick-up by any node, and watched; one
   * not ordered within the timeout goes into this node's own next event. `payloadIds`, when the
   * caller has them, are their ids (hex sha256), in order, so they are not hashed again.
   */
  async accept(payloads: readonly Uint8Array[], payloadIds?: readonly string[]): Promise<void> {
    const deadline = Date.now() + (this.options.orderTimeoutMs ?? 10_000);
    const messages = payloads.map((payload, i) => {
      const id = payloadIds?.[i] ?? payloadKey(payload);
      this.awaitingOrder.set(id, { payload, deadline });
      return { key: id, value: payload };
    });
    if (messages.length > 0) await this.options.bus.publish(this.topics.payloads, messages);
  }

  private async onPayloads(batch: readonly Delivery[]): Promise<void> {
    const payloads = batch.map((d) => d.value);
    if (!this.running) throw new NodeRuntimeError('NOT_RUNNING', 'node stopping');
    // Handled from the start: stop() may reject the waiters while submit is still queued.
    const included = Promise.all(
      payloads.map((p) => new Promise<void>((resolve, reject) => this.inclusion.set(p, { resolve, reject }))),
    );
    included.catch(() => undefined);
    await this.serial(() => {
      this.stats.payloadsIn += payloads.length;
      this.node.submit(payloads);
    });
    // Commit only once an own persisted event holds every payload of the batch.
    await included;
  }

  private resubmitOverdue(): void {
    const now = Date.now();
    const overdue: Uint8Array[] = [];
    for (const [id, w] of this.awaitingOrder)
      if (w.deadline <= now) {
        overdue.push(w.payload);
        this.awaitingOrder.delete(id);
      }
    if (overdue.length > 0) {
      this.log('warn', 'payloads not ordered in time; including them ourselves', { count: overdue.length });
      this.node.submit(overdue);
    }
  }

  // ---------------------------------------------------------------- gossip

  private async onGossip(batch: readonly Delivery[]): Promise<void> {
    const bySender = new Map<string, SignedEvent[]>();
    for (const d of batch) {
      if (d.key === this.self) continue;
      const e = this.decode(d.value);
      if (!e) continue;
      const from = d.key ?? toHex(e.body.creator);
      const list = bySender.get(from) ?? [];
      list.push(e);
      bySender.set(from, list);
    }
    for (const [from, events] of bySender) await this.serial(() => this.receive(events, from));
  }

  private async onInbox(batch: readonly Delivery[]): Promise<void> {
    for (const d of batch) {
      let frame: InboxFrame;
      try {
        frame = decodeFrame(d.value);
      } catch (err) {
        this.log('warn', 'dropped a malformed inbox frame', { error: String(err) });
        continue;
      }
      await this.serial(() => this.onFrame(frame));
    }
  }

  private async onFrame(frame: InboxFrame): Promise<void> {
    switch (frame.kind) {
      case 'events': {
        const events = frame.events.map((b) => this.decode(b)).filter((e): e is SignedEvent => e !== null);
        await this.receive(events, frame.from);
        return;
      }
      case 'fetch': {
        const events = this.node.graph.ancestryFor(frame.ids, new Map(frame.known));
        await this.sendEvents(frame.from, events);
        return;
      }
      case 'sync': {
        const known = new Map(frame.known);
        const events = this.node.graph.diff(known, SYNC_LIMIT);
        if (this.lacksPruned(known, events)) {
          // Off the mailbox: the store is read, not the graph.
          if (!this.catchingUp.has(frame.from)) {
            this.catchingUp.add(frame.from);
            void this.catchUpFromStore(frame.from, known).finally(() => this.catchingUp.delete(frame.from));
          }
          return;
        }
        await this.sendEvents(frame.from, events);
        return;
      }
    }
  }

  /** Whether a peer lacks events this node has already pruned from memory (a joiner, a long absence). */
  private lacksPruned(known: ReadonlyMap<Hex, number>, diff: readonly SignedEvent[]): boolean {
    const lowest = new Map<Hex, number>();
    for (const e of diff) {
      const c = toHex(e.body.creator);
      const seen = lowest.get(c);
      if (seen === undefined || e.body.seq < seen) lowest.set(c, e.body.seq);
    }
    for (const [creator, ours] of this.node.graph.knownVector()) {
      const theirs = known.get(creator) ?? -1;
      if (ours <= theirs) continue;
      const first = lowest.get(creator);
      if (first !== undefined ? first > theirs + 1 : diff.length < SYNC_LIMIT) return true;
    }
    return false;
  }

  /**
   * Sends a peer what it lacks from this node's store, in store order (parents first), a bounded
   * part per sync. Reads only each creator's tail: its event of seq s sits at revision >= s of its
   * stream, since its self-parent chain was stored before it.
   */
  private async catchUpFromStore(to: Hex, known: ReadonlyMap<Hex, number>): Promise<void> {
    const tail: { position: bigint; event: SignedEvent }[] = [];
    for (const [creator, ours] of this.node.graph.knownVector()) {
      const theirs = known.get(creator) ?? -1;
      if (ours <= theirs) continue;
      const stream = this.options.store.readStream(STREAMS.shadowgraph(creator), {
        fromRevision: BigInt(theirs + 1),
        maxCount: SYNC_LIMIT,
      });
      for await (const r of stream) {
        if (r.type !== EVENT_TYPES.shadowgraphEvent) continue;
        const e = this.decode(r.data);
        if (e && e.body.seq > theirs) tail.push({ position: r.globalPosition, event: e });
      }
    }
    tail.sort((a, b) => (a.position < b.position ? -1 : a.position > b.position ? 1 : 0));
    const events = tail.slice(0, SYNC_LIMIT).map((t) => t.event);
    this.log('info', 'a peer lacks pruned events: sending them from the store', {
      peer: to.slice(0, 16),
      events: events.length,
    });
    this.stats.eventsSentFromStore += events.length;
    await this.sendEvents(to, events);
  }

  private async sendEvents(to: Hex, events: readonly SignedEvent[]): Promise<void> {
    if (events.length === 0 || !this.isMember(to)) return;
    const frames = eventFrames(
      this.self,
      events.map((e) => e.bytes),
    );
    await this.send(
      this.topics.inbox(to),
      frames.map((value) => ({ key: this.self, value })),
    );
  }

  private isMember(key: Hex): boolean {
    return this.operators().includes(key);
  }

  private operators(): readonly Hex[] {
    return this.options.ledger?.operators() ?? this.options.genesis.members.map((m) => m.key);
  }

  /**
   * Only a member whose stake counts takes payloads from the shared intake: a joining node's
   * events carry no weight until its admission takes effect, so what it took would wait for the
   * accepting node's timeout.
   */
  private async maybeJoinIntake(): Promise<void> {
    if (!this.joinIntake || !this.running) return;
    const since = this.options.ledger ? this.options.ledger.memberSince(this.self) : 0;
    if (since === null || since > Math.max(0, this.lastDecidedRound())) return;
    const join = this.joinIntake;
    this.joinIntake = null;
    try {
      await join();
    } catch (err) {
      this.joinIntake = join;
      throw err;
    }
  }

  /** A removed member stops taking payloads; what it holds unacknowledged goes back to the group. */
  private async maybeLeaveIntake(): Promise<void> {
    const ledger = this.options.ledger;
    if (!this.intake || !ledger || ledger.memberSince(this.self) !== null) return;
    const leaving = this.intake;
    this.intake = null;
    this.subscriptions.splice(this.subscriptions.indexOf(leaving), 1);
    this.log('info', 'no longer a member: leaving the intake group');
    await leaving.stop().catch(() => undefined);
  }

  private async syncWithPeer(): Promise<void> {
    // Off the mailbox: joining and leaving a group wait on the bus, and a batch in flight waits on us.
    if (this.joinIntake)
      void this.maybeJoinIntake().catch((err) =>
        this.log('warn', 'joining intake failed', { error: String(err) }),
      );
    else void this.maybeLeaveIntake();
    const peer = this.nextPeer();
    if (!peer || !this.running) return;
    this.stats.syncsSent++;
    const frame = encodeFrame({ kind: 'sync', from: this.self, known: [...this.node.graph.knownVector()] });
    await this.send(this.topics.inbox(peer), [{ key: this.self, value: frame }]);
  }

  private decode(bytes: Uint8Array): SignedEvent | null {
    try {
      return decodeEvent(bytes, sha256);
    } catch {
      this.stats.rejectedEvents++;
      return null;
    }
  }

  // ---------------------------------------------------------------- the core

  private async tick(): Promise<void> {
    if (!this.running || !this.mayCreateEvents()) return;
    await this.apply(this.node.tick(this.clock()), null);
  }

  /**
   * Only a member whose stake counts creates events, and only once it has caught up: an event
   * built on old rounds would be ancient to its peers, and so would every descendant.
   */
  private mayCreateEvents(): boolean {
    const ledger = this.options.ledger;
    if (!ledger) return true;
    const since = ledger.memberSince(this.self);
    const graph = this.node.graph;
    if (since === null || since > Math.max(0, graph.lastDecidedRound)) return false;
    return since === 0 || graph.highestRound - graph.lastDecidedRound <= CAUGHT_UP_ROUNDS;
  }

  private async receive(events: readonly SignedEvent[], from: Hex): Promise<void> {
    this.stats.receivedEvents += events.length;
    await this.apply(this.node.receive(events), from);
  }

  /**
   * Performs a Ready's effects in contract order: the durable ones first (own events, peers'
   * events, the order), then the bus sends. A send that fails is only logged: a peer that
   * missed our gossip gets it by sync, and a fetch is asked again when the orphan comes back.
   */
  private async apply(ready: Ready, from: Hex | null): Promise<void> {
    const step: DurableStep = { appends: [], afterCommit: [] };
    for (const e of ready.persist) {
      step.appends.push({
        streamId: STREAMS.shadowgraph(this.self),
        events: [asStored(e)],
        expected: BigInt(e.body.seq - 1),
      });
      step.afterCommit.push(() => {
        this.stats.ownEvents++;
        for (const p of e.body.payloads) {
          const waiter = this.inclusion.get(p);
          if (waiter) {
            this.inclusion.delete(p);
            waiter.resolve();
          }
        }
      });
    }
    if (ready.accepted.length > 0) this.persistPeers(step, ready.accepted);
    if (ready.ordered.length > 0) this.record(step, ready.ordered);
    this.recordLedger(step);
    try {
      await this.commit(step);
    } catch (err) {
      if (ready.persist.length > 0)
        this.fail(
          new NodeRuntimeError(
            'PERSIST_FAILED',
            `own event seq ${ready.persist.map((e) => e.body.seq).join(', ')}: ${String(err)}`,
          ),
        );
      throw err;
    }
    if (ready.accepted.length > 0) this.checkRoots(ready.accepted);
    this.stats.rejectedEvents += ready.rejected.length;
    this.stats.forks += ready.forks.length;
    for (const f of ready.forks) this.log('warn', 'fork detected', { creator: f.creator, seq: f.seq });

    if (ready.gossip.length > 0)
      await this.send(
        this.topics.gossip,
        ready.gossip.map((e) => ({ key: this.self, value: e.bytes })),
      );
    if (ready.fetch.length > 0) {
      const target = from && from !== this.self ? from : this.nextPeer();
      if (target) {
        this.stats.fetchesSent++;
        const frame = encodeFrame({
          kind: 'fetch',
          from: this.self,
          ids: ready.fetch,
          known: [...this.node.graph.knownVector()],
        });
        await this.send(this.topics.inbox(target), [{ key: this.self, value: frame }]);
      }
    }
  }

  /**
   * Queues a send behind earlier ones (so gossip keeps its order) without holding the mailbox:
   * whatever a send carries was persisted before it was queued.
   */
  private send(topic: string, messages: readonly BusMessage[]): Promise<void> {
    this.outbox = this.outbox.then(async () => {
      try {
        await this.options.bus.publish(topic, messages);
      } catch (err) {
        this.log('warn', 'bus send failed', { topic, error: (err as Error).message });
      }
    });
    return Promise.resolve();
  }

  /** The step's durable effects in one appendMany (one transaction where the store allows), then what follows. */
  private async commit(step: DurableStep): Promise<void> {
    if (step.appends.length > 0) await this.appendStep(step.appends);
    for (const after of step.afterCommit) after();
  }

  /**
   * Through the step appender while it works. One that breaks mid-commit may or may not have
   * committed; every append skips event ids already stored, so the store retries it safely.
   */
  private async appendStep(appends: readonly StreamAppend[]): Promise<void> {
    const { stepAppender, store } = this.options;
    if (stepAppender && !stepAppender.broken) {
      try {
        await stepAppender.appendMany(appends);
        return;
      } catch (err) {
        if (!stepAppender.broken) throw err;
        this.log('warn', 'the step writer broke: committing through the store', { error: String(err) });
      }
    }
    await store.appendMany(appends);
  }

  private persistPeers(step: DurableStep, events: readonly SignedEvent[]): void {
    const byCreator = new Map<Hex, SignedEvent[]>();
    for (const e of events) {
      const c = toHex(e.body.creator);
      const list = byCreator.get(c) ?? [];
      list.push(e);
      byCreator.set(c, list);
    }
    for (const [creator, list] of [...byCreator].sort(([a], [b]) => (a < b ? -1 : 1)))
      step.appends.push({
        streamId: STREAMS.shadowgraph(creator),
        events: list.map(asStored),
        expected: 'any',
      });
  }

  /** Adds the new part of the order to `consensus`, at expected revision = index - 1. */
  private record(step: DurableStep, ordered: readonly OrderedEvent[]): void {
    const records: OrderedRecord[] = [];
    const orderedAt = Date.now();
    for (const o of ordered) {
      this.chain.append(o.event.id);
      records.push(orderedRecord(o, this.chain.head));
      // Hashing every ordered payload is only worth it while accept() watches some.
      if (this.awaitingOrder.size > 0)
        for (const p of o.event.body.payloads) this.awaitingOrder.delete(payloadKey(p));
      this.stats.orderedPayloads += o.event.body.payloads.length;
    }
    this.stats.orderedEvents += ordered.length;
    this.lastRound = ordered[ordered.length - 1]!.roundReceived;
    step.appends.push({
      streamId: STREAMS.consensus,
      events: records.map((r) => ({
        eventId: r.eventId,
        type: EVENT_TYPES.eventOrdered,
        data: utf8Encoder.encode(JSON.stringify(r)),
        // Wall-clock time this node ordered it: for latency figures only, never audited.
        metadata: { orderedAtMs: orderedAt },
      })),
      expected: BigInt(records[0]!.consensusIndex - 1),
    });
    step.afterCommit.push(() => {
      for (const l of this.orderedListeners) l(records, ordered);
    });
  }

  /** Adds what the processor decided to `ledger`, at expected revision = its first index - 1. */
  private recordLedger(step: DurableStep): void {
    const ledger = this.options.ledger;
    if (!ledger) return;
    const records = ledger.drain();
    const latest = ledger.latestRoot();
    if (latest && latest.round !== this.rootRound) {
      this.rootRound = latest.round;
      this.node.setStateRoot(encodeRoundRoot(latest.round, latest.root));
    }
    if (records.length === 0) return;
    step.appends.push({
      streamId: STREAMS.ledger,
      events: records.map(storedLedgerRecord),
      expected: BigInt(this.ledgerLength - 1),
    });
    step.afterCommit.push(() => {
      this.ledgerLength += records.length;
      this.stats.ledgerRecords += records.length;
      for (const l of this.ledgerListeners) l(records);
    });
  }

  /** A peer whose event carries a root for a round we decided, and a different one, is reported. */
  private checkRoots(events: readonly SignedEvent[]): void {
    const ledger = this.options.ledger;
    if (!ledger) return;
    for (const e of events) {
      const theirs = decodeRoundRoot(e.body.stateRoot);
      if (!theirs) continue;
      const ours = ledger.rootOf(theirs.round);
      if (!ours || equalBytes(ours, theirs.root)) continue;
      this.stats.stateRootMismatches++;
      this.lastRootMismatch = {
        creator: toHex(e.body.creator),
        round: theirs.round,
        theirs: toHex(theirs.root),
        ours: toHex(ours),
      };
      this.log('error', 'a peer reports a different state root', this.lastRootMismatch);
    }
  }

  // ---------------------------------------------------------------- restore

  private async ensureGenesis(): Promise<void> {
    const { store, genesis } = this.options;
    const expected = genesisHash(genesis);
    for await (const e of store.readStream(STREAMS.genesis, { maxCount: 1 })) {
      const stored = new TextDecoder().decode(e.data);
      const hash = createHash('sha256').update(stored).digest('hex');
      if (hash !== expected)
        throw new NodeRuntimeError('GENESIS_MISMATCH', `store holds genesis ${hash}, node has ${expected}`);
      return;
    }
    await store.append(
      STREAMS.genesis,
      [{ eventId: expected, type: EVENT_TYPES.genesis, data: canonicalGenesis(genesis) }],
      'no_stream',
    );
  }

  /** Rebuilds the graph from the store; never re-appends what `consensus` already holds. */
  private async restore(): Promise<void> {
    const { store } = this.options;
    const events: SignedEvent[] = [];
    for await (const r of store.readAll()) {
      if (r.type !== EVENT_TYPES.shadowgraphEvent) continue;
      const e = this.decode(r.data);
      if (e) events.push(e);
    }
    const ready = this.node.restore(events);
    const stored: string[] = [];
    for await (const r of store.readStream(STREAMS.consensus)) stored.push(r.eventId);
    const derived = ready.ordered;
    for (let i = 0; i < stored.length; i++) {
      if (i >= derived.length) break;
      if (derived[i]!.event.idHex !== stored[i])
        throw new NodeRuntimeError(
          'STORE_DIVERGED',
          `consensus[${i}] is ${stored[i]}, re-derived ${derived[i]!.event.idHex}`,
        );
    }
    for (const o of derived.slice(0, stored.length)) this.chain.append(o.event.id);
    if (derived.length > 0)
      this.lastRound = derived[Math.min(derived.length, stored.length) - 1]?.roundReceived ?? -1;
    if (derived.length > stored.length) {
      const step: DurableStep = { appends: [], afterCommit: [] };
      this.record(step, derived.slice(stored.length));
      await this.commit(step);
    }
    await this.restoreLedger();
    this.log('info', 'restored from the store', {
      events: events.length,
      ordered: derived.length,
      ledger: this.ledgerLength,
    });
  }

  /** The processor re-derived the ledger while the core replayed; the store must hold a prefix of it. */
  private async restoreLedger(): Promise<void> {
    const ledger = this.options.ledger;
    if (!ledger) return;
    const derived = ledger.drain();
    let i = 0;
    for await (const r of this.options.store.readStream(STREAMS.ledger)) {
      const mine = derived[i];
      if (!mine || r.eventId !== ledgerEventId(mine))
        throw new NodeRuntimeError(
          'STORE_DIVERGED',
          `ledger[${i}] is ${r.eventId}, re-derived ${mine ? ledgerEventId(mine) : 'nothing'}`,
        );
      i++;
    }
    this.ledgerLength = i;
    const rest = derived.slice(i);
    if (rest.length === 0) return;
    await this.options.store.append(STREAMS.ledger, rest.map(storedLedgerRecord), BigInt(i - 1));
    this.ledgerLength += rest.length;
    for (const l of this.ledgerListeners) l(rest);
  }

  // ---------------------------------------------------------------- plumbing

  /** A broker that is still starting (no group coordinator yet) is waited for, within a bound. */
  private async retryBus<T>(what: string, step: () => Promise<T>): Promise<T> {
    const deadline = Date.now() + (this.options.busStartupTimeoutMs ?? 120_000);
    for (let attempt = 1, delay = 250; ; attempt++, delay = Math.min(delay * 2, 5000)) {
      try {
        return await step();
      } catch (err) {
        const transient = err instanceof CommsBusError && err.code === 'BUS_UNAVAILABLE';
        if (!transient || Date.now() + delay > deadline) throw err;
        this.log('warn', `bus not ready while ${what}; retrying`, { attempt, error: (err as Error).message });
        await new Promise((r) => setTimeout(r, delay));
      }
    }
  }

  /** Timers add at most one pending step of each kind, so a slow mailbox never piles up ticks. */
  private enqueueOnce(kind: string, step: () => unknown): void {
    if (this.queued.has(kind)) return;
    this.queued.add(kind);
    void this.serial(() => {
      this.queued.delete(kind);
      return step();
    }).catch(() => undefined);
  }

  private serial<T>(fn: () => T | Promise<T>): Promise<T> {
    const run = this.mailbox.then(() => {
      if (this.failure) throw this.failure;
      return fn();
    });
    this.mailbox = run.catch((err) => {
      if (!this.failure) this.log('error', 'node step failed', { error: String(err) });
    });
    return run;
  }

  private fail(err: Error): void {
    this.failure = err;
    this.running = false;
    this.log('error', 'node stopped', { error: err.message });
  }

  /** The other members in turn, so syncs and fetches spread over every peer. */
  private nextPeer(): Hex | null {
    const peers = this.operators().filter((k) => k !== this.self);
    return peers.length > 0 ? peers[this.peerTurn++ % peers.length]! : null;
  }

  private log(level: 'info' | 'warn' | 'error', message: string, fields?: Record<string, unknown>): void {
    this.options.log?.(level, message, fields);
  }
}

function asStored(e: SignedEvent): NewEvent {
  return { eventId: e.idHex, type: EVENT_TYPES.shadowgraphEvent, data: e.bytes };
}

/** The `consensus` stream's record of an ordered event, with the running order hash after it. */
export function orderedRecord(o: OrderedEvent, orderHash: string): OrderedRecord {
  return {
    eventId: o.event.idHex,
    creator: toHex(o.event.body.creator),
    seq: o.event.body.seq,
    round: o.round,
    roundReceived: o.roundReceived,
    consensusTimestamp: o.consensusTimestamp,
    consensusIndex: o.consensusIndex,
    orderHash,
    payloads: o.event.body.payloads.length,
  };
}

export function payloadKey(payload: Uint8Array): string {
  return toHex(sha256(payload));
}

/** A step's durable effects, committed together, and what may happen only once they are. */
interface DurableStep {
  readonly appends: StreamAppend[];
  readonly afterCommit: (() => void)[];
}

const utf8Encoder = new TextEncoder();

/** A ledger record as stored: its canonical (JCS) JSON, and the hash of that as its id. */
export function storedLedgerRecord(record: LedgerRecord): NewEvent {
  const data = utf8Encoder.encode(ledgerRecordText(record));
  return { eventId: toHex(sha256(data)), type: EVENT_TYPES.ledgerRecord, data };
}

const utf8Decoder = new TextDecoder();

/** A ledger record read back from the store (the inverse of storedLedgerRecord's data). */
export function ledgerRecordOf(data: Uint8Array): LedgerRecord {
  return JSON.parse(utf8Decoder.decode(data)) as LedgerRecord;
}

export function ledgerEventId(record: LedgerRecord): string {
  return storedLedgerRecord(record).eventId;
}

/** The state root an event carries: the round (8 bytes, big-endian) then the 32-byte root. */
export function encodeRoundRoot(round: number, root: Uint8Array): Uint8Array {
  const out = new Uint8Array(8 + root.length);
  new DataView(out.buffer).setBigUint64(0, BigInt(round));
  out.set(root, 8);
  return out;
}

export function decodeRoundRoot(bytes: Uint8Array): { round: number; root: Uint8Array } | null {
  if (bytes.length !== 40) return null;
  const round = Number(new DataView(bytes.buffer, bytes.byteOffset, 8).getBigUint64(0));
  return { round, root: bytes.subarray(8) };
}

function rootHex(root: Uint8Array | undefined): string | null {
  return root ? toHex(root) : null;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
