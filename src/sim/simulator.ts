import { createHash } from 'node:crypto';
import { sha256, signerFromSecretKey, strictVerifier } from '../../domain/crypto/index.js';
import {
  assembleEvent,
  decodeEvent,
  type Hex,
  type SignedEvent,
  toHex,
} from '../../domain/shadowgraph/event.js';
import type { ConsensusMutant, OrderedEvent } from '../../domain/shadowgraph/hashgraph.js';
import type { MembershipChange } from '../../domain/shadowgraph/membership.js';
import { type Ready, ShadowGraphNode } from '../../domain/shadowgraph/node.js';
import { Agenda, Prng } from './prng.js';

/**
 * The deterministic network simulator: N members in one process on a virtual clock, driven by a
 * seeded PRNG. Honest members run the real core; Byzantine members craft events by hand and
 * collude. The network delays, drops, reorders and partitions. Safety is checked online against
 * the first honest order seen at each index; liveness after the last heal.
 */

export type Behavior =
  'fork' | 'bad-signature' | 'withhold' | 'stale-parents' | 'lying-timestamps' | 'garbage' | 'split-brain';

export type Episode =
  'calm' | 'partition-minority' | 'partition-third' | 'crash-restart' | 'membership' | 'split-brain';

export interface SimOptions {
  readonly nodes: number;
  readonly byzantine: number;
  readonly seeds: number;
  /** First seed; runs use seed, seed+1, ... */
  readonly seed?: number;
  /** Events each honest member creates during the fault phase (run length). */
  readonly events?: number;
  readonly mutant?: ConsensusMutant;
  /** Forces one episode (default: drawn per seed). */
  readonly episode?: Episode;
  /** Forces the Byzantine behaviours (default: drawn per seed). */
  readonly behaviors?: readonly Behavior[];
  readonly onProgress?: (done: number, total: number) => void;
}

export interface SimReport {
  readonly runs: number;
  readonly nodes: number;
  readonly byzantine: number;
  readonly mutant: ConsensusMutant | null;
  readonly submittedPayloads: number;
  readonly orderedPayloads: number;
  readonly safetyViolations: number;
  readonly livenessFailures: number;
  readonly failedSeeds: number[];
  readonly orderHash: string;
}

export interface RunReport {
  readonly seed: number;
  readonly episode: Episode;
  readonly behaviors: readonly Behavior[];
  readonly submittedPayloads: number;
  readonly orderedPayloads: number;
  readonly safetyViolations: number;
  readonly livenessFailures: number;
  readonly decidedRounds: number;
  readonly orderedEvents: number;
  readonly forksDetected: number;
  /** Fame decisions that took more rounds than the membership delay k (tentative rounds recomputed). */
  readonly fameDelayedPastK: boolean;
  readonly rejectedEvents: number;
  readonly notes: readonly string[];
  readonly orderDigest: string;
}

export function runSimulations(opts: SimOptions): SimReport {
  validate(opts);
  const first = opts.seed ?? 1;
  const digest = createHash('sha256');
  let submitted = 0;
  let ordered = 0;
  let safety = 0;
  let liveness = 0;
  const failedSeeds: number[] = [];
  for (let i = 0; i < opts.seeds; i++) {
    const run = runOne(first + i, opts);
    submitted += run.submittedPayloads;
    ordered += run.orderedPayloads;
    safety += run.safetyViolations;
    liveness += run.livenessFailures;
    if (run.safetyViolations + run.livenessFailures > 0) failedSeeds.push(run.seed);
    digest.update(run.orderDigest);
    opts.onProgress?.(i + 1, opts.seeds);
  }
  return {
    runs: opts.seeds,
    nodes: opts.nodes,
    byzantine: opts.byzantine,
    mutant: opts.mutant ?? null,
    submittedPayloads: submitted,
    orderedPayloads: ordered,
    safetyViolations: safety,
    livenessFailures: liveness,
    failedSeeds,
    orderHash: digest.digest('hex'),
  };
}

function validate(opts: SimOptions): void {
  if (!Number.isInteger(opts.nodes) || opts.nodes < 1 || opts.nodes > 64)
    throw new RangeError('nodes must be 1..64');
  if (!Number.isInteger(opts.byzantine) || opts.byzantine < 0 || opts.byzantine >= opts.nodes)
    throw new RangeError('byzantine must be 0..nodes-1');
  if (!Number.isInteger(opts.seeds) || opts.seeds < 1) throw new RangeError('seeds must be >= 1');
  if (opts.events !== undefined && (!Number.isInteger(opts.events) || opts.events < 10))
    throw new RangeError('events must be >= 10');
}

// ------------------------------------------------------------------ the run

const MS = 1000;
const TICK = 5 * MS;
const HEARTBEAT = { activeMicros: 20 * MS, idleMicros: 200 * MS, eagerMicros: 5 * MS };
const LIVENESS_ROUNDS = 30;
const MEMBER_PREFIX = 'MEMBER ';

type Message =
  | { kind: 'events'; from: number; bytes: Uint8Array[] }
  | { kind: 'sync'; from: number; known: Map<Hex, number> }
  | { kind: 'fetch'; from: number; ids: Hex[]; known: Map<Hex, number> };

interface Canonical {
  readonly id: Hex;
  readonly ts: number;
  readonly roundReceived: number;
}

/** Membership changes carried by ordered payloads: the port the processor fills in later. */
export function membershipChangesFromPayloads(
  _round: number,
  ordered: readonly OrderedEvent[],
): MembershipChange[] {
  const changes: MembershipChange[] = [];
  for (const o of ordered)
    for (const p of o.event.body.payloads) {
      if (p.length < MEMBER_PREFIX.length || p[0] !== 0x4d) continue;
      const text = new TextDecoder().decode(p);
      if (!text.startsWith(MEMBER_PREFIX)) continue;
      try {
        const c = JSON.parse(text.slice(MEMBER_PREFIX.length)) as MembershipChange;
        if ((c.kind === 'add' || c.kind === 'remove') && typeof c.key === 'string') changes.push(c);
      } catch {
        /* not a membership payload */
      }
    }
  return changes;
}

class Run {
  readonly rng: Prng;
  readonly agenda = new Agenda();
  now = 0;
  readonly notes: string[] = [];
  readonly decodeCache = new WeakMap<Uint8Array, SignedEvent | null>();
  readonly verifyCache = new Map<string, boolean>();
  readonly canonical: Canonical[] = [];
  /** Honest payload -> the canonical index that ordered it. */
  readonly orderedPayloads = new Map<string, number>();
  safetyViolations = 0;
  livenessFailures = 0;
  rejected = 0;
  forks = 0;
  /** Pairs (a, b) that cannot talk, as a set of `${a}:${b}`. */
  readonly cut = new Set<string>();
  dropRate: number;
  maxLatency: number;
  /** A joining member: liveness includes one of its events reaching consensus after admission. */
  joinerKey: Hex | null = null;
  joinerOrdered = false;
  /** Split-brain colluders behave until the partition starts, then fork every event. */
  splitBrainActive = false;

  constructor(
    readonly seed: number,
    readonly opts: SimOptions,
  ) {
    this.rng = new Prng(seed * 7919 + opts.nodes * 131 + opts.byzantine);
    this.dropRate = this.rng.float() * 0.15;
    this.maxLatency = this.rng.range(2, 40) * MS;
  }

  verify = (signature: Uint8Array, message: Uint8Array, key: Uint8Array): boolean => {
    // Simulation only: one verification per distinct (key, message, signature) across all members.
    const k = toHex(key) + toHex(message) + toHex(signature);
    let ok = this.verifyCache.get(k);
    if (ok === undefined) {
      ok = strictVerifier.verify(signature, message, key);
      this.verifyCache.set(k, ok);
    }
    return ok;
  };

  decode(bytes: Uint8Array): SignedEvent | null {
    let e = this.decodeCache.get(bytes);
    if (e === undefined) {
      try {
        e = decodeEvent(bytes, sha256);
      } catch {
        e = null;
      }
      this.decodeCache.set(bytes, e);
    }
    return e;
  }

  send(from: number, to: number, msg: Message, reliable = false): void {
    if (from === to) return;
    if (this.cut.has(`${from}:${to}`)) return;
    if (!reliable && this.rng.chance(this.dropRate)) return;
    const at = this.now + this.rng.range(MS, this.maxLatency);
    this.agenda.schedule(at, () => members[to]?.deliver(msg));
  }

  /** Records one honest member's ordered event at its index; a different event there is a violation. */
  recordOrder(member: number, o: OrderedEvent, honestPayloads: ReadonlySet<string>): void {
    const at = this.canonical[o.consensusIndex];
    const entry = { id: o.event.idHex, ts: o.consensusTimestamp, roundReceived: o.roundReceived };
    if (!at) {
      if (o.consensusIndex !== this.canonical.length) {
        this.violation(`member ${member} ordered index ${o.consensusIndex} past ${this.canonical.length}`);
        return;
      }
      this.canonical.push(entry);
      if (this.joinerKey !== null && toHex(o.event.body.creator) === this.joinerKey)
        this.joinerOrdered = true;
      for (const p of o.event.body.payloads) {
        const s = payloadKey(p);
        if (!honestPayloads.has(s)) continue;
        if (this.orderedPayloads.has(s)) this.violation(`payload ${s} ordered twice`);
        this.orderedPayloads.set(s, o.consensusIndex);
      }
    } else if (at.id !== entry.id || at.ts !== entry.ts || at.roundReceived !== entry.roundReceived) {
      this.violation(`member ${member} disagrees at index ${o.consensusIndex}`);
    }
  }

  violation(why: string): void {
    this.safetyViolations++;
    if (this.notes.length < 20) this.notes.push(`safety: ${why}`);
  }
}

let members: (Member | undefined)[] = [];

interface Member {
  readonly index: number;
  readonly key: Hex;
  deliver(msg: Message): void;
  tick(): void;
}

function payloadKey(p: Uint8Array): string {
  return Buffer.from(p).toString('latin1');
}

class HonestMember implements Member {
  readonly key: Hex;
  node: ShadowGraphNode | null = null;
  private readonly store: SignedEvent[] = [];
  private readonly stored = new Map<Hex, SignedEvent>();
  private readonly byCreator = new Map<Hex, number[]>();
  private readonly queued: Uint8Array[] = [];
  private readonly included = new Set<string>();
  ordered = 0;
  submitted: string[] = [];
  decided = -1;

  constructor(
    readonly run: Run,
    readonly index: number,
    private readonly secret: Uint8Array,
    private readonly peers: () => number[],
    private readonly genesis: { key: Hex; stake: number }[],
    private readonly honestPayloads: Set<string>,
    private readonly config: {
      membershipDelay: number;
      coinRoundFrequency: number;
      mutant?: ConsensusMutant;
    },
  ) {
    this.key = toHex(signerFromSecretKey(secret).publicKey);
    this.start();
  }

  private start(): void {
    this.node = new ShadowGraphNode({
      genesis: this.genesis,
      verify: this.run.verify,
      signer: signerFromSecretKey(this.secret),
      hash: sha256,
      heartbeat: HEARTBEAT,
      membershipDelay: this.config.membershipDelay,
      coinRoundFrequency: this.config.coinRoundFrequency,
      pruneHorizon: 40,
      membershipChanges: membershipChangesFromPayloads,
      ...(this.config.mutant ? { mutant: this.config.mutant } : {}),
    });
  }

  get alive(): boolean {
    return this.node !== null;
  }

  submit(payload: Uint8Array): void {
    this.honestPayloads.add(payloadKey(payload));
    this.submitted.push(payloadKey(payload));
    this.queued.push(payload);
    this.node?.submit([payload]);
  }

  crash(): void {
    this.node = null;
  }

  /** Restarts from what was persisted; payloads not yet in a persisted event come back from the outbox. */
  restart(): void {
    this.start();
    this.ordered = 0;
    this.handle(this.node!.restore(this.store), -1);
    const lost = this.queued.filter((p) => !this.included.has(payloadKey(p)));
    this.node!.submit(lost);
  }

  private persist(e: SignedEvent): void {
    if (this.stored.has(e.idHex)) return;
    this.stored.set(e.idHex, e);
    const creator = toHex(e.body.creator);
    let list = this.byCreator.get(creator);
    if (!list) this.byCreator.set(creator, (list = []));
    list.push(this.store.length);
    this.store.push(e);
  }

  tick(): void {
    if (!this.node) return;
    this.handle(this.node.tick(this.run.now), -1);
  }

  deliver(msg: Message): void {
    if (!this.node) return;
    switch (msg.kind) {
      case 'events': {
        const events: SignedEvent[] = [];
        for (const b of msg.bytes) {
          const e = this.run.decode(b);
          if (e) events.push(e);
          else this.run.rejected++;
        }
        this.handle(this.node.receive(events), msg.from);
        break;
      }
      case 'sync':
        this.run.send(this.index, msg.from, {
          kind: 'events',
          from: this.index,
          bytes: this.diff(msg.known),
        });
        break;
      case 'fetch': {
        const events = this.node.graph.ancestryFor(msg.ids, msg.known);
        const found = new Set(events.map((e) => e.idHex));
        for (const id of msg.ids) {
          const e = found.has(id) ? undefined : this.stored.get(id);
          if (e) events.unshift(e);
        }
        const bytes = events.map((e) => e.bytes);
        if (bytes.length > 0)
          this.run.send(this.index, msg.from, { kind: 'events', from: this.index, bytes });
        break;
      }
    }
  }

  /** What a peer with this known vector lacks, from the store (which outlives pruning), parents first. */
  private diff(known: Map<Hex, number>): Uint8Array[] {
    const picked: number[] = [];
    for (const [creator, list] of this.byCreator) {
      const have = known.get(creator) ?? -1;
      for (let i = list.length - 1; i >= 0; i--) {
        const at = list[i]!;
        if (this.store[at]!.body.seq > have) picked.push(at);
        else if (i < list.length - 64) break;
      }
    }
    picked.sort((a, b) => a - b);
    return picked.slice(0, 400).map((i) => this.store[i]!.bytes);
  }

  syncWithRandomPeer(): void {
    if (!this.node) return;
    const peers = this.peers();
    if (peers.length === 0) return;
    const peer = this.run.rng.pick(peers);
    this.run.send(this.index, peer, { kind: 'sync', from: this.index, known: this.node.graph.knownVector() });
  }

  private handle(ready: Ready, from: number): void {
    for (const e of ready.persist) {
      this.persist(e);
      for (const p of e.body.payloads) this.included.add(payloadKey(p));
    }
    for (const e of ready.accepted) this.persist(e);
    if (ready.gossip.length > 0) {
      const bytes = ready.gossip.map((e) => e.bytes);
      for (const peer of this.peers())
        this.run.send(this.index, peer, { kind: 'events', from: this.index, bytes });
    }
    if (ready.fetch.length > 0) {
      const target = from >= 0 ? from : this.run.rng.pick(this.peers());
      const known = this.node!.graph.knownVector();
      this.run.send(this.index, target, { kind: 'fetch', from: this.index, ids: ready.fetch, known });
    }
    this.run.rejected += ready.rejected.length;
    this.run.forks += ready.forks.length;
    for (const o of ready.ordered) {
      this.run.recordOrder(this.index, o, this.honestPayloads);
      this.ordered++;
    }
    if (this.node) this.decided = this.node.graph.lastDecidedRound;
  }

  /** Safety holds separately, so this member's order is a prefix of the canonical one. */
  hasOrderedAll(payloads: ReadonlySet<string>): boolean {
    if (!this.node) return false;
    for (const p of payloads) {
      const at = this.run.orderedPayloads.get(p);
      if (at === undefined || at >= this.ordered) return false;
    }
    return true;
  }
}

class ByzantineMember implements Member {
  readonly key: Hex;
  private readonly signer;
  private readonly known: Map<Hex, SignedEvent>;
  private readonly latest: Map<Hex, SignedEvent>;
  /** Own branches: [main] or, under split-brain, [side A, side B]. */
  private tips: (SignedEvent | null)[] = [null, null];
  private counter = 0;
  lastCreated = -Infinity;

  constructor(
    readonly run: Run,
    readonly index: number,
    secret: Uint8Array,
    readonly behaviors: ReadonlySet<Behavior>,
    private readonly everyone: () => number[],
    private readonly sides: { a: number[]; b: number[]; colluders: number[] } | null,
    shared: { known: Map<Hex, SignedEvent>; latest: Map<Hex, SignedEvent> },
  ) {
    this.signer = signerFromSecretKey(secret);
    this.key = toHex(this.signer.publicKey);
    this.known = shared.known;
    this.latest = shared.latest;
  }

  private learn(e: SignedEvent): void {
    if (this.known.has(e.idHex)) return;
    this.known.set(e.idHex, e);
    const creator = toHex(e.body.creator);
    const prev = this.latest.get(creator);
    if (!prev || e.body.seq > prev.body.seq) this.latest.set(creator, e);
  }

  deliver(msg: Message): void {
    if (msg.kind === 'events') {
      for (const b of msg.bytes) {
        const e = this.run.decode(b);
        if (e) this.learn(e);
      }
      return;
    }
    if (this.behaviors.has('withhold')) return;
    if (msg.kind === 'fetch') {
      const bytes = msg.ids.flatMap((id) => {
        const e = this.known.get(id);
        return e && this.mayShow(e, msg.from) ? [e.bytes] : [];
      });
      if (bytes.length > 0) this.run.send(this.index, msg.from, { kind: 'events', from: this.index, bytes });
    }
  }

  /** Under split-brain, a side only ever gets this member's branch for that side from it. */
  private mayShow(e: SignedEvent, to: number): boolean {
    if (!this.sides || toHex(e.body.creator) !== this.key) return true;
    const side = this.sides.a.includes(to) ? 0 : this.sides.b.includes(to) ? 1 : -1;
    if (side < 0) return true;
    return this.branchOf.get(e.idHex) === side;
  }

  private readonly branchOf = new Map<Hex, number>();

  tick(): void {
    if (this.run.now - this.lastCreated < HEARTBEAT.activeMicros) return;
    this.lastCreated = this.run.now;
    if (this.sides && this.behaviors.has('split-brain') && this.run.splitBrainActive) {
      this.splitBrainStep();
      return;
    }
    const e = this.craft(0, this.pickOtherParent(this.everyone()));
    const targets = this.everyone();
    if (this.behaviors.has('fork') && this.run.rng.chance(0.3) && e.body.seq > 0) {
      const twin = this.craft(0, this.pickOtherParent(targets), this.tips[0]);
      const half = this.run.rng.shuffle([...targets]);
      const cutAt = half.length >> 1;
      this.emit(e, half.slice(0, cutAt));
      this.emit(twin, half.slice(cutAt));
      this.tips[0] = this.run.rng.chance(0.5) ? e : twin;
    } else {
      this.emit(e, targets);
      this.tips[0] = e;
    }
    if (this.behaviors.has('bad-signature')) {
      const forged = new Uint8Array(e.bytes);
      forged[forged.length - 1 - this.run.rng.int(64)]! ^= 1 << this.run.rng.int(8);
      this.emit(null, targets, forged);
    }
    if (this.behaviors.has('garbage')) {
      const junk = new Uint8Array(this.run.rng.range(5, 400));
      for (let i = 0; i < junk.length; i++) junk[i] = this.run.rng.int(256);
      if (this.run.rng.chance(0.5)) junk.set([0x44, 0x47, 0x45, 0x56, 1], 0);
      this.emit(null, targets, junk);
    }
  }

  private splitBrainStep(): void {
    const sides = this.sides!;
    const base = this.tips[0] ?? this.tips[1];
    for (const side of [0, 1] as const) {
      const honest = side === 0 ? sides.a : sides.b;
      const own = this.tips[side] ?? base;
      const e = this.craft(side, this.pickOtherParent([...honest, ...sides.colluders], side), own);
      this.branchOf.set(e.idHex, side);
      this.tips[side] = e;
      this.emit(e, [...honest, ...sides.colluders]);
    }
  }

  private pickOtherParent(from: readonly number[], side?: number): SignedEvent | null {
    const options: SignedEvent[] = [];
    for (const i of from) {
      const m = members[i];
      if (!m || m.key === this.key) continue;
      const tip = this.latestOn(m.key, side);
      if (tip) options.push(tip);
    }
    if (options.length === 0) return null;
    if (this.behaviors.has('stale-parents') && this.run.rng.chance(0.5)) {
      const all = [...this.known.values()];
      const old = all.slice(0, Math.max(1, all.length >> 1));
      return this.run.rng.pick(old);
    }
    return this.run.rng.pick(options);
  }

  /** A colluder's latest event on the given side (split-brain), or anyone's latest. */
  private latestOn(key: Hex, side?: number): SignedEvent | undefined {
    const m = members.find((x) => x?.key === key);
    if (side !== undefined && m instanceof ByzantineMember) return m.tips[side] ?? undefined;
    return this.latest.get(key);
  }

  private craft(_side: number, otherParent: SignedEvent | null, selfParent = this.tips[0]): SignedEvent {
    let timestamp = this.run.now;
    if (this.behaviors.has('lying-timestamps')) timestamp += this.run.rng.range(-5_000, 5_000) * MS;
    if (selfParent) timestamp = Math.max(timestamp, selfParent.body.timestamp + 1);
    timestamp = Math.max(timestamp, 0);
    const payload = new TextEncoder().encode(`byz:${this.index}:${this.counter++}`);
    const e = assembleEvent(
      {
        creator: this.signer.publicKey,
        seq: selfParent ? selfParent.body.seq + 1 : 0,
        selfParent: selfParent ? selfParent.id : null,
        otherParent: otherParent ? otherParent.id : null,
        timestamp,
        payloads: [payload],
        stateRoot: new Uint8Array(0),
      },
      (id) => this.signer.sign(id),
      sha256,
    );
    this.learn(e);
    return e;
  }

  private emit(e: SignedEvent | null, targets: readonly number[], raw?: Uint8Array): void {
    if (this.behaviors.has('withhold') && e) return;
    const bytes = [raw ?? e!.bytes];
    for (const t of targets) this.run.send(this.index, t, { kind: 'events', from: this.index, bytes });
  }
}

function secretFor(seed: number, index: number): Uint8Array {
  return sha256(new TextEncoder().encode(`dagger-sim:${seed}:${index}`));
}

/** Every Byzantine behaviour; split-brain is drawn only with its episode. */
export const BEHAVIORS: readonly Behavior[] = [
  'fork',
  'bad-signature',
  'withhold',
  'stale-parents',
  'lying-timestamps',
  'garbage',
  'split-brain',
];
const ALL_BEHAVIORS = BEHAVIORS.filter((b) => b !== 'split-brain');

export function runOne(seed: number, opts: SimOptions): RunReport {
  const run = new Run(seed, opts);
  const rng = run.rng;
  const n = opts.nodes;
  const F = opts.byzantine;
  const eventsPerMember = opts.events ?? 60;
  const faultPhase = eventsPerMember * HEARTBEAT.activeMicros;
  const byzIdx = new Set(rng.shuffle([...Array(n).keys()]).slice(0, F));
  const honestIdx = [...Array(n).keys()].filter((i) => !byzIdx.has(i));

  let episode: Episode;
  if (opts.episode) episode = opts.episode;
  else if (opts.mutant && F > 0) episode = 'split-brain';
  else {
    const options: Episode[] = ['calm', 'partition-minority', 'partition-third', 'crash-restart'];
    if (honestIdx.length >= 3) options.push('membership');
    if (F > 0) options.push('split-brain');
    episode = rng.pick(options);
  }
  let behaviors: Behavior[];
  if (opts.behaviors) behaviors = [...opts.behaviors];
  else if (episode === 'split-brain') behaviors = ['split-brain'];
  else behaviors = rng.shuffle([...ALL_BEHAVIORS]).slice(0, rng.range(1, 3));

  // Membership: a fresh honest member joins, and a genesis honest member leaves once it is in.
  const joiner = episode === 'membership' ? n : -1;
  const leaver = episode === 'membership' ? honestIdx[honestIdx.length - 1]! : -1;
  const total = joiner >= 0 ? n + 1 : n;
  const secrets = Array.from({ length: total }, (_, i) => secretFor(seed, i));
  const keys = secrets.map((s) => toHex(signerFromSecretKey(s).publicKey));
  const genesis = [...Array(n).keys()].map((i) => ({ key: keys[i]!, stake: 1 }));
  const config = {
    membershipDelay: episode === 'membership' ? rng.range(2, 4) : 6,
    coinRoundFrequency: rng.pick([3, 4, 6, 10]),
    ...(opts.mutant ? { mutant: opts.mutant } : {}),
  };
  const honestPayloads = new Set<string>();
  const everyone = () => [...Array(total).keys()];
  const othersOf = (i: number) => () => everyone().filter((j) => j !== i);

  let sides: { a: number[]; b: number[]; colluders: number[] } | null = null;
  if (episode === 'split-brain') {
    // Side B is the smallest honest group that, with the colluders, holds over half the stake.
    let sizeB = 1;
    while (2 * (sizeB + F) <= n && sizeB < honestIdx.length - 1) sizeB++;
    const shuffled = rng.shuffle([...honestIdx]);
    sides = { a: shuffled.slice(sizeB), b: shuffled.slice(0, sizeB), colluders: [...byzIdx] };
  }
  const shared = { known: new Map<Hex, SignedEvent>(), latest: new Map<Hex, SignedEvent>() };
  members = [];
  for (let i = 0; i < total; i++) {
    if (byzIdx.has(i))
      members.push(
        new ByzantineMember(run, i, secrets[i]!, new Set(behaviors), othersOf(i), sides, {
          known: behaviors.includes('split-brain') ? shared.known : new Map(),
          latest: behaviors.includes('split-brain') ? shared.latest : new Map(),
        }),
      );
    else members.push(new HonestMember(run, i, secrets[i]!, othersOf(i), genesis, honestPayloads, config));
  }
  const honest = members.filter((m): m is HonestMember => m instanceof HonestMember);

  // Clock: ticks, syncs and payload submissions.
  const every = (period: number, jitter: number, fn: () => void, until: () => boolean) => {
    const loop = () => {
      if (until()) return;
      fn();
      run.agenda.schedule(run.now + period + rng.int(jitter + 1), loop);
    };
    run.agenda.schedule(rng.int(period), loop);
  };
  let finished = false;
  const done = () => finished;
  for (const m of members) every(TICK, 2 * MS, () => m!.tick(), done);
  for (const m of honest) every(15 * MS, 10 * MS, () => (m.alive ? m.syncWithRandomPeer() : undefined), done);
  let payloadCounter = 0;
  const submitters = honest.filter((m) => m.index !== joiner && m.index !== leaver);
  every(
    8 * MS,
    8 * MS,
    () => {
      if (run.now > faultPhase) return;
      const m = rng.pick(submitters);
      if (m.alive) m.submit(new TextEncoder().encode(`s${seed}:${m.index}:${payloadCounter++}`));
    },
    done,
  );

  // The episode.
  const at = (t: number, fn: () => void) => run.agenda.schedule(t, fn);
  const partition = (group: number[]) => {
    for (const a of group)
      for (const b of everyone()) if (!group.includes(b)) run.cut.add(`${a}:${b}`).add(`${b}:${a}`);
  };
  const heal = () => run.cut.clear();
  const startFault = Math.floor(faultPhase * 0.25);
  const endFault = Math.floor(faultPhase * 0.7);
  switch (episode) {
    case 'partition-minority':
    case 'partition-third': {
      const share = episode === 'partition-minority' ? 0.2 : 0.34;
      const size = Math.max(1, Math.min(n - 1, Math.ceil(n * share)));
      const group = rng.shuffle([...Array(n).keys()]).slice(0, size);
      at(startFault, () => partition(group));
      at(endFault, heal);
      break;
    }
    case 'crash-restart': {
      const victim = rng.pick(honest);
      at(startFault, () => victim.crash());
      at(endFault, () => victim.restart());
      break;
    }
    case 'membership': {
      const proposer = honest.find((m) => m.index !== leaver && m.index !== joiner)!;
      const joinerMember = members[joiner] as HonestMember;
      const change = (c: MembershipChange) => new TextEncoder().encode(MEMBER_PREFIX + JSON.stringify(c));
      at(startFault, () => proposer.submit(change({ kind: 'add', key: joinerMember.key, stake: 1 })));
      at(endFault, () => proposer.submit(change({ kind: 'remove', key: members[leaver]!.key })));
      break;
    }
    case 'split-brain': {
      const s = sides!;
      at(startFault, () => {
        run.splitBrainActive = true;
        for (const a of s.a) for (const b of s.b) run.cut.add(`${a}:${b}`).add(`${b}:${a}`);
      });
      at(endFault, heal);
      break;
    }
    case 'calm':
      break;
  }

  // Run the fault phase, then drain until every honest payload is ordered everywhere or the
  // honest members have decided LIVENESS_ROUNDS rounds past the heal without it.
  const stepUntil = (limit: number, stop: () => boolean) => {
    let steps = 0;
    while (run.agenda.size > 0 && steps++ < 5_000_000) {
      const next = run.agenda.pop()!;
      if (next.at > limit) {
        run.agenda.schedule(next.at, next.run);
        return;
      }
      run.now = next.at;
      next.run();
      if ((steps & 255) === 0 && stop()) return;
    }
  };
  // A run that has broken safety has failed; running it longer proves nothing more.
  const broken = () => run.safetyViolations > 0;
  stepUntil(faultPhase, broken);
  const live = () => honest.filter((m) => m.alive && m.index !== leaver);
  const decidedAtHeal = new Map(live().map((m) => [m.index, m.decided]));
  if (joiner >= 0) run.joinerKey = members[joiner]!.key;
  const allOrdered = () =>
    (joiner < 0 || run.joinerOrdered) && live().every((m) => m.hasOrderedAll(honestPayloads));
  const pastLiveness = () =>
    live().every((m) => m.decided - (decidedAtHeal.get(m.index) ?? m.decided) > LIVENESS_ROUNDS);
  stepUntil(faultPhase + 60_000 * MS, () => broken() || allOrdered() || pastLiveness());
  finished = true;
  if (!broken() && !allOrdered()) {
    run.livenessFailures++;
    const missing = [...honestPayloads].filter((p) => !run.orderedPayloads.has(p)).length;
    run.notes.push(
      `liveness: ${missing} honest payloads unordered${joiner >= 0 && !run.joinerOrdered ? ', joiner never ordered' : ''}; decided ${live()
        .map((m) => m.decided)
        .join(',')}`,
    );
  }
  const digest = createHash('sha256');
  for (const c of run.canonical) digest.update(`${c.id}:${c.ts}:${c.roundReceived};`);
  const report: RunReport = {
    seed,
    episode,
    behaviors,
    submittedPayloads: honestPayloads.size,
    orderedPayloads: run.orderedPayloads.size,
    safetyViolations: run.safetyViolations,
    livenessFailures: run.livenessFailures,
    decidedRounds: Math.min(...honest.map((m) => m.decided)),
    orderedEvents: run.canonical.length,
    forksDetected: run.forks,
    fameDelayedPastK: honest.some((m) => (m.node?.graph.deepestFameDecision ?? 0) > config.membershipDelay),
    rejectedEvents: run.rejected,
    notes: run.notes,
    orderDigest: digest.digest('hex'),
  };
  members = [];
  return report;
}
