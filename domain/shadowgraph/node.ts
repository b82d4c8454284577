import { assembleEvent, type Hex, MAX_EVENT_PAYLOAD_BYTES, type SignedEvent, toHex } from './event.js';
import {
  type ConsensusResult,
  type ForkEvidence,
  Hashgraph,
  type HashgraphConfig,
  type OrderedEvent,
} from './hashgraph.js';

/**
 * One member's ShadowGraph as a pure state machine, in the manner of etcd-io/raft: every input
 * (tick, received events, submitted payloads) returns a Ready that says what to persist, what to
 * gossip, what to fetch and what became ordered. The caller performs those effects, and must
 * persist `persist` before it publishes `gossip`, so a crash never reuses a seq.
 */

export interface NodeSigner {
  readonly publicKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

export interface HeartbeatConfig {
  /** While events are undecided. */
  readonly activeMicros: number;
  /** While nothing is left to decide. */
  readonly idleMicros: number;
  /** While payloads wait. */
  readonly eagerMicros: number;
}

export const DEFAULT_HEARTBEAT: HeartbeatConfig = {
  activeMicros: 100_000,
  idleMicros: 1_000_000,
  eagerMicros: 10_000,
};

export interface NodeConfig extends HashgraphConfig {
  readonly signer: NodeSigner;
  readonly hash: (data: Uint8Array) => Uint8Array;
  readonly heartbeat?: HeartbeatConfig;
  /** Orphans held while their parents are fetched. */
  readonly maxOrphans?: number;
}

export interface Ready {
  /** Own new events: persist at expected revision = seq before gossiping them. */
  readonly persist: SignedEvent[];
  /** Peers' events inserted into the graph: append idempotently by event id. */
  readonly accepted: SignedEvent[];
  readonly gossip: SignedEvent[];
  readonly fetch: Hex[];
  readonly ordered: OrderedEvent[];
  readonly decidedRounds: number[];
  readonly rejected: { readonly id: Hex; readonly code: string; readonly reason: string }[];
  readonly forks: ForkEvidence[];
}

function emptyReady(): Ready {
  return {
    persist: [],
    accepted: [],
    gossip: [],
    fetch: [],
    ordered: [],
    decidedRounds: [],
    rejected: [],
    forks: [],
  };
}

export class ShadowGraphNode {
  readonly graph: Hashgraph;
  readonly self: Hex;
  private readonly signer: NodeSigner;
  private readonly hash: (data: Uint8Array) => Uint8Array;
  private readonly heartbeat: HeartbeatConfig;
  private readonly maxOrphans: number;
  private readonly pending: Uint8Array[] = [];
  private pendingHead = 0;
  private pendingBytes = 0;
  private lastOwn: SignedEvent | null = null;
  private lastCreatedAt = -Infinity;
  /** peer -> [seq of its tip we last referenced, logical time we referenced it]. */
  private readonly referenced = new Map<Hex, { seq: number; at: number }>();
  private referenceClock = 0;
  /** missing parent id -> orphans waiting on it. */
  private readonly orphans = new Map<Hex, SignedEvent[]>();
  private orphanCount = 0;
  private stateRoot: Uint8Array = new Uint8Array(0);

  constructor(config: NodeConfig) {
    this.graph = new Hashgraph(config);
    this.signer = config.signer;
    this.hash = config.hash;
    this.self = toHex(config.signer.publicKey);
    this.heartbeat = config.heartbeat ?? DEFAULT_HEARTBEAT;
    this.maxOrphans = config.maxOrphans ?? 10_000;
  }

  get pendingPayloads(): number {
    return this.pending.length - this.pendingHead;
  }

  get ownSeq(): number {
    return this.lastOwn ? this.lastOwn.body.seq : -1;
  }

  /** The latest state root to carry in the next event (opaque to the ShadowGraph). */
  setStateRoot(root: Uint8Array): void {
    this.stateRoot = root;
  }

  submit(payloads: readonly Uint8Array[]): void {
    for (const p of payloads) {
      if (p.length > MAX_EVENT_PAYLOAD_BYTES) throw new RangeError('payload larger than an event');
      this.pending.push(p);
      this.pendingBytes += p.length;
    }
  }

  /** Rebuilds from persisted events (any order with parents first is fine; orphans wait). */
  restore(events: readonly SignedEvent[]): Ready {
    const ready = this.receive(events);
    for (const e of events) {
      if (toHex(e.body.creator) === this.self && (!this.lastOwn || e.body.seq > this.lastOwn.body.seq))
        this.lastOwn = e;
    }
    return ready;
  }

  receive(events: readonly SignedEvent[]): Ready {
    const ready = emptyReady();
    // Walked by index: restore() hands over a whole store, and shift() would make that quadratic.
    const queue = [...events];
    const missing = new Set<Hex>();
    for (let next = 0; next < queue.length; next++) {
      const e = queue[next]!;
      const result = this.graph.insert(e);
      switch (result.status) {
        case 'inserted': {
          ready.accepted.push(e);
          if (result.fork) ready.forks.push(result.fork);
          const waiting = this.orphans.get(e.idHex);
          if (waiting) {
            this.orphans.delete(e.idHex);
            this.orphanCount -= waiting.length;
            queue.push(...waiting);
          }
          missing.delete(e.idHex);
          break;
        }
        case 'missing-parents':
          if (this.orphanCount < this.maxOrphans) {
            const key = result.missing[0]!;
            const list = this.orphans.get(key) ?? [];
            if (!list.some((o) => o.idHex === e.idHex)) {
              list.push(e);
              this.orphans.set(key, list);
              this.orphanCount++;
            }
          }
          for (const m of result.missing) missing.add(m);
          break;
        case 'rejected':
          ready.rejected.push({ id: e.idHex, code: result.code, reason: result.reason });
          break;
        case 'duplicate':
          break;
      }
    }
    for (const m of missing) if (!this.graph.has(m)) ready.fetch.push(m);
    this.collect(ready, this.graph.runConsensus());
    return ready;
  }

  /** Heartbeat: creates at most one event when its interval has passed. `now` in microseconds. */
  tick(now: number): Ready {
    const ready = emptyReady();
    const payloadsWait = this.pendingHead < this.pending.length;
    const undecided = this.graph.highestRound > this.graph.lastDecidedRound + 1 || this.graph.size === 0;
    const interval = payloadsWait
      ? this.pendingBytes >= MAX_EVENT_PAYLOAD_BYTES
        ? 0
        : this.heartbeat.eagerMicros
      : undecided || this.graph.orderedCount === 0
        ? this.heartbeat.activeMicros
        : this.heartbeat.idleMicros;
    if (now - this.lastCreatedAt < interval) return ready;
    // Every heartbeat makes an event, with or without news from peers: rounds keep advancing
    // (a one-member network needs its self-only events to decide anything).
    this.createEvent(now, this.chooseOtherParent(), ready);
    return ready;
  }

  /** The tip of the peer referenced least recently among those with events we have not referenced. */
  private chooseOtherParent(): SignedEvent | null {
    let best: { key: Hex; at: number; tip: SignedEvent } | null = null;
    for (const key of this.graph.creators()) {
      if (key === this.self) continue;
      const tip = this.graph.tipOf(key);
      if (!tip) continue;
      const ref = this.referenced.get(key);
      if (ref && ref.seq >= tip.body.seq) continue;
      const at = ref ? ref.at : -1;
      if (!best || at < best.at || (at === best.at && key < best.key)) best = { key, at, tip };
    }
    if (!best) return null;
    this.referenced.set(best.key, { seq: best.tip.body.seq, at: this.referenceClock++ });
    return best.tip;
  }

  private createEvent(now: number, otherParent: SignedEvent | null, ready: Ready): void {
    const payloads: Uint8Array[] = [];
    let bytes = 0;
    while (this.pendingHead < this.pending.length) {
      const p = this.pending[this.pendingHead]!;
      if (bytes + p.length > MAX_EVENT_PAYLOAD_BYTES) break;
      payloads.push(p);
      bytes += p.length;
      this.pendingHead++;
    }
    this.pendingBytes -= bytes;
    if (this.pendingHead > 4096 && this.pendingHead * 2 > this.pending.length) {
      this.pending.splice(0, this.pendingHead);
      this.pendingHead = 0;
    }
    const selfParent = this.lastOwn;
    const timestamp = Math.max(Math.floor(now), selfParent ? selfParent.body.timestamp + 1 : 0);
    const event = assembleEvent(
      {
        creator: this.signer.publicKey,
        seq: selfParent ? selfParent.body.seq + 1 : 0,
        selfParent: selfParent ? selfParent.id : null,
        otherParent: otherParent ? otherParent.id : null,
        timestamp,
        payloads,
        stateRoot: this.stateRoot,
      },
      (id) => this.signer.sign(id),
      this.hash,
    );
    this.lastOwn = event;
    this.lastCreatedAt = now;
    ready.persist.push(event);
    ready.gossip.push(event);
    const result = this.graph.insert(event);
    if (result.status !== 'inserted') throw new Error(`own event not inserted: ${JSON.stringify(result)}`);
    this.collect(ready, this.graph.runConsensus());
  }

  private collect(ready: Ready, result: ConsensusResult): void {
    ready.ordered.push(...result.ordered);
    ready.decidedRounds.push(...result.decidedRounds);
    // A stale own event is never ordered: its payloads go into a later event instead.
    for (const e of result.stale) if (toHex(e.body.creator) === this.self) this.requeue(e.body.payloads);
  }

  private requeue(payloads: readonly Uint8Array[]): void {
    if (payloads.length === 0) return;
    this.pending.splice(this.pendingHead, 0, ...payloads);
    for (const p of payloads) this.pendingBytes += p.length;
  }
}
