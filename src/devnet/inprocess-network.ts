import { createHash, randomInt } from 'node:crypto';
import { setImmediate as immediate } from 'node:timers';
import { sha256, signerFromSecretKey, strictVerifier, toHex } from '../../domain/crypto/index.js';
import { decodeEvent, type Hex, type SignedEvent } from '../../domain/shadowgraph/event.js';
import type { OrderedEvent, VerifySignature } from '../../domain/shadowgraph/hashgraph.js';
import {
  DEFAULT_HEARTBEAT,
  type HeartbeatConfig,
  type Ready,
  ShadowGraphNode,
} from '../../domain/shadowgraph/node.js';
import { OrderHashChain } from '../shared/order-hash.js';

/**
 * N ShadowGraphNodes in one process, driven by real time over an in-memory transport. Every message
 * is delivered asynchronously (setImmediate), never by synchronous recursion, and carries encoded
 * bytes that the receiver decodes and the core verifies on insert, as a real bus would.
 *
 * Each node, on each tick: runs `tick(now)`, pushes the events it created to all peers, answers
 * fetch-by-hash requests for missing parents, and every `pullMs` pulls by known-vector from a random peer.
 */

/** Checks received events before they are inserted (e.g. payload signatures); true = admit. */
export type EventAdmission = (node: number, events: readonly SignedEvent[]) => Promise<readonly boolean[]>;

export interface InProcessNetworkOptions {
  readonly nodes: number;
  /** Keys are derived from it: the same seed gives the same members. */
  readonly seed?: string;
  readonly heartbeat?: HeartbeatConfig;
  /** Period of the heartbeat timer driving every node's tick, in ms. */
  readonly tickMs?: number;
  /** Period of the known-vector pull, in ms. */
  readonly pullMs?: number;
  /** Most events one pull answer carries. */
  readonly pullLimit?: number;
  /** Most events one node creates per wake-up while intake is full (bounds each turn of the loop). */
  readonly maxEventsPerTurn?: number;
  readonly verify?: VerifySignature;
  readonly admit?: EventAdmission;
  readonly pruneHorizon?: number;
  /** Microseconds; defaults to the wall clock. */
  readonly clock?: () => number;
  /** Peer choice for pulls: returns an integer in [0, n). Defaults to crypto.randomInt. */
  readonly randomIndex?: (n: number) => number;
}

export interface NodeStats {
  readonly index: number;
  readonly publicKey: Hex;
  readonly ownSeq: number;
  readonly lastDecidedRound: number;
  readonly highestRound: number;
  readonly graphSize: number;
  readonly pendingPayloads: number;
  readonly eventsCreated: number;
  readonly eventsReceived: number;
  readonly orderedEvents: number;
  readonly orderedPayloads: number;
  readonly orderHash: string;
  readonly rejected: number;
  readonly forks: number;
  readonly malformed: number;
}

export type OrderedListener = (ordered: readonly OrderedEvent[]) => void;

type Message =
  | { readonly kind: 'events'; readonly from: number; readonly events: readonly Uint8Array[] }
  | { readonly kind: 'fetch'; readonly from: number; readonly ids: readonly Hex[] }
  | { readonly kind: 'pull'; readonly from: number; readonly known: ReadonlyMap<Hex, number> };

/** Asynchronous mailboxes: `send` enqueues, and a setImmediate drains each mailbox in arrival order. */
export class InMemoryTransport {
  private readonly mailboxes: Message[][];
  private readonly scheduled: boolean[];
  private closed = false;
  delivered = 0;

  constructor(
    size: number,
    private readonly deliver: (to: number, messages: Message[]) => void,
  ) {
    this.mailboxes = Array.from({ length: size }, () => []);
    this.scheduled = new Array<boolean>(size).fill(false);
  }

  send(to: number, message: Message): void {
    if (this.closed) return;
    this.mailboxes[to]!.push(message);
    if (!this.scheduled[to]) {
      this.scheduled[to] = true;
      immediate(() => this.drain(to));
    }
  }

  close(): void {
    this.closed = true;
    for (const box of this.mailboxes) box.length = 0;
  }

  private drain(to: number): void {
    this.scheduled[to] = false;
    if (this.closed) return;
    const box = this.mailboxes[to]!;
    if (box.length === 0) return;
    const messages = box.splice(0, box.length);
    this.delivered += messages.length;
    this.deliver(to, messages);
  }
}

/** Derives member i's 32-byte secret key from the network seed. */
export function deriveSecretKey(seed: string, index: number): Uint8Array {
  const digest = createHash('sha256').update(`dagger-devnet-key\0${seed}\0${index}`).digest();
  return new Uint8Array(digest.buffer, digest.byteOffset, digest.byteLength);
}

const wallClockMicros = (): number => Math.floor((performance.timeOrigin + performance.now()) * 1000);

interface Admission {
  readonly events: SignedEvent[];
  readonly from: number;
  done: boolean;
  verdicts: readonly boolean[];
}

class NetNode {
  readonly core: ShadowGraphNode;
  readonly publicKey: Hex;
  readonly chain = new OrderHashChain();
  readonly listeners = new Set<OrderedListener>();
  eventsCreated = 0;
  eventsReceived = 0;
  orderedPayloads = 0;
  rejected = 0;
  forks = 0;
  malformed = 0;
  /** Ids decoded and waiting for admission, so duplicates are not checked twice. */
  readonly admitting = new Set<Hex>();
  readonly admissions: Admission[] = [];
  pumpScheduled = false;

  constructor(
    readonly index: number,
    core: ShadowGraphNode,
  ) {
    this.core = core;
    this.publicKey = core.self;
  }
}

export class InProcessNetwork {
  readonly size: number;
  readonly genesis: readonly { key: Hex; stake: number }[];
  private readonly nodes: NetNode[];
  private readonly transport: InMemoryTransport;
  private readonly clock: () => number;
  private readonly randomIndex: (n: number) => number;
  private readonly tickMs: number;
  private readonly pullMs: number;
  private readonly pullLimit: number;
  private readonly maxEventsPerTurn: number;
  private readonly admit: EventAdmission | undefined;
  private tickTimer: NodeJS.Timeout | null = null;
  private pullTimer: NodeJS.Timeout | null = null;
  private running = false;
  private stopped = false;

  constructor(options: InProcessNetworkOptions) {
    const n = options.nodes;
    if (!Number.isSafeInteger(n) || n < 1 || n > 256)
      throw new RangeError('nodes must be an integer in 1..256');
    this.size = n;
    this.clock = options.clock ?? wallClockMicros;
    this.randomIndex = options.randomIndex ?? ((k) => randomInt(k));
    this.tickMs = options.tickMs ?? 5;
    this.pullMs = options.pullMs ?? 250;
    this.pullLimit = options.pullLimit ?? 256;
    this.maxEventsPerTurn = options.maxEventsPerTurn ?? 8;
    this.admit = options.admit;
    const seed = options.seed ?? 'dagger-devnet';
    const signers = Array.from({ length: n }, (_, i) => signerFromSecretKey(deriveSecretKey(seed, i)));
    this.genesis = signers.map((s) => ({ key: toHex(s.publicKey), stake: 1 }));
    const verify = options.verify ?? ((sig, msg, key) => strictVerifier.verify(sig, msg, key));
    this.nodes = signers.map(
      (signer, i) =>
        new NetNode(
          i,
          new ShadowGraphNode({
            genesis: this.genesis,
            verify,
            signer,
            hash: sha256,
            heartbeat: options.heartbeat ?? DEFAULT_HEARTBEAT,
            ...(options.pruneHorizon !== undefined ? { pruneHorizon: options.pruneHorizon } : {}),
          }),
        ),
    );
    this.transport = new InMemoryTransport(n, (to, messages) => this.onMessages(to, messages));
  }

  get isRunning(): boolean {
    return this.running;
  }

  start(): void {
    if (this.running || this.stopped) return;
    this.running = true;
    this.tickTimer = setInterval(() => {
      for (const node of this.nodes) this.schedulePump(node);
    }, this.tickMs);
    this.pullTimer = setInterval(() => this.pullRound(), this.pullMs);
    for (const node of this.nodes) this.schedulePump(node);
  }

  /** Stops timers and drops undelivered messages; resolves once in-flight callbacks have drained. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopped = true;
    if (this.tickTimer) clearInterval(this.tickTimer);
    if (this.pullTimer) clearInterval(this.pullTimer);
    this.tickTimer = null;
    this.pullTimer = null;
    this.transport.close();
    await new Promise<void>((resolve) => immediate(resolve));
  }

  /** Hands payloads to node i's intake; they go into its next events. */
  submit(index: number, payloads: readonly Uint8Array[]): void {
    const node = this.node(index);
    node.core.submit(payloads);
    this.schedulePump(node);
  }

  pendingPayloads(index: number): number {
    return this.node(index).core.pendingPayloads;
  }

  /** Calls `listener` with every batch node i orders, in consensus order. Returns an unsubscribe function. */
  onOrdered(index: number, listener: OrderedListener): () => void {
    const node = this.node(index);
    node.listeners.add(listener);
    return () => node.listeners.delete(listener);
  }

  /** The order hash of node i after `consensusIndex` events, if still in its history window. */
  orderHashAt(index: number, consensusIndex: number): string | undefined {
    return this.node(index).chain.at(consensusIndex);
  }

  stats(index: number): NodeStats {
    const n = this.node(index);
    const g = n.core.graph;
    return {
      index,
      publicKey: n.publicKey,
      ownSeq: n.core.ownSeq,
      lastDecidedRound: g.lastDecidedRound,
      highestRound: g.highestRound,
      graphSize: g.size,
      pendingPayloads: n.core.pendingPayloads,
      eventsCreated: n.eventsCreated,
      eventsReceived: n.eventsReceived,
      orderedEvents: n.chain.length,
      orderedPayloads: n.orderedPayloads,
      orderHash: n.chain.head,
      rejected: n.rejected,
      forks: n.forks,
      malformed: n.malformed,
    };
  }

  allStats(): NodeStats[] {
    return this.nodes.map((n) => this.stats(n.index));
  }

  /** Smallest consensus index all nodes have reached, with each node's order hash there. */
  agreement(): { index: number; hashes: (string | undefined)[]; agree: boolean } {
    let index = Infinity;
    for (const n of this.nodes) index = Math.min(index, n.chain.length);
    const hashes = this.nodes.map((n) => n.chain.at(index));
    const first = hashes[0];
    const agree = first !== undefined && hashes.every((h) => h === first);
    return { index, hashes, agree };
  }

  // ------------------------------------------------------------------ internals

  private node(index: number): NetNode {
    const node = this.nodes[index];
    if (!node) throw new RangeError(`no node ${index}`);
    return node;
  }

  private schedulePump(node: NetNode): void {
    if (node.pumpScheduled || !this.running) return;
    node.pumpScheduled = true;
    immediate(() => {
      node.pumpScheduled = false;
      if (this.running) this.pump(node);
    });
  }

  /** One heartbeat turn: creates events while the interval allows (bounded), and gossips them. */
  private pump(node: NetNode): void {
    for (let k = 0; k < this.maxEventsPerTurn; k++) {
      const ready = node.core.tick(this.clock());
      this.apply(node, ready, -1);
      if (ready.persist.length === 0) return;
    }
    // Intake still holds full events: come back on the next turn of the loop, not recursively.
    this.schedulePump(node);
  }

  private pullRound(): void {
    if (!this.running || this.size < 2) return;
    for (const node of this.nodes) {
      let peer = this.randomIndex(this.size - 1);
      if (peer >= node.index) peer++;
      this.transport.send(peer, { kind: 'pull', from: node.index, known: node.core.graph.knownVector() });
    }
  }

  private onMessages(to: number, messages: Message[]): void {
    if (!this.running) return;
    const node = this.nodes[to]!;
    const incoming: SignedEvent[] = [];
    let from = -1;
    for (const m of messages) {
      switch (m.kind) {
        case 'events':
          for (const bytes of m.events) {
            let event: SignedEvent;
            try {
              event = decodeEvent(bytes, sha256);
            } catch {
              node.malformed++;
              continue;
            }
            if (node.admitting.has(event.idHex) || node.core.graph.has(event.idHex)) continue;
            incoming.push(event);
            if (this.admit) node.admitting.add(event.idHex);
          }
          from = m.from;
          break;
        case 'fetch': {
          const found: Uint8Array[] = [];
          for (const id of m.ids) {
            const e = node.core.graph.get(id);
            if (e) found.push(e.bytes);
          }
          if (found.length > 0) this.transport.send(m.from, { kind: 'events', from: to, events: found });
          break;
        }
        case 'pull': {
          const missing = node.core.graph.diff(m.known, this.pullLimit);
          if (missing.length > 0)
            this.transport.send(m.from, { kind: 'events', from: to, events: missing.map((e) => e.bytes) });
          break;
        }
      }
    }
    if (incoming.length === 0) return;
    if (!this.admit) {
      this.ingest(node, incoming, from);
      return;
    }
    const admission: Admission = { events: incoming, from, done: false, verdicts: [] };
    node.admissions.push(admission);
    this.admit(to, incoming).then(
      (verdicts) => {
        admission.verdicts = verdicts;
        admission.done = true;
        this.drainAdmissions(node);
      },
      () => {
        admission.done = true;
        this.drainAdmissions(node);
      },
    );
  }

  /** Inserts admitted batches in arrival order, so parents still go in before children. */
  private drainAdmissions(node: NetNode): void {
    while (node.admissions.length > 0 && node.admissions[0]!.done) {
      const a = node.admissions.shift()!;
      const admitted: SignedEvent[] = [];
      for (let i = 0; i < a.events.length; i++) {
        node.admitting.delete(a.events[i]!.idHex);
        if (a.verdicts[i] === true) admitted.push(a.events[i]!);
        else node.rejected++;
      }
      if (this.running && admitted.length > 0) this.ingest(node, admitted, a.from);
    }
  }

  private ingest(node: NetNode, events: SignedEvent[], from: number): void {
    node.eventsReceived += events.length;
    const ready = node.core.receive(events);
    this.apply(node, ready, from);
  }

  /** Performs a Ready's effects: persist (in memory: nothing to do) before gossip, fetch, order. */
  private apply(node: NetNode, ready: Ready, from: number): void {
    if (ready.gossip.length > 0) {
      node.eventsCreated += ready.gossip.length;
      const bytes = ready.gossip.map((e) => e.bytes);
      for (let peer = 0; peer < this.size; peer++)
        if (peer !== node.index)
          this.transport.send(peer, { kind: 'events', from: node.index, events: bytes });
    }
    if (ready.fetch.length > 0 && this.size > 1) {
      let peer = from;
      if (peer < 0 || peer === node.index) {
        peer = this.randomIndex(this.size - 1);
        if (peer >= node.index) peer++;
      }
      this.transport.send(peer, { kind: 'fetch', from: node.index, ids: ready.fetch });
    }
    node.rejected += ready.rejected.length;
    node.forks += ready.forks.length;
    if (ready.ordered.length > 0) {
      for (const o of ready.ordered) {
        node.chain.append(o.event.id);
        node.orderedPayloads += o.event.body.payloads.length;
      }
      for (const listener of node.listeners) listener(ready.ordered);
    }
  }
}
