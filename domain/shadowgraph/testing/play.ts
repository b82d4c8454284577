import { sha256, signerFromSecretKey, strictVerifier } from '../../crypto/index.js';
import { assembleEvent, compareBytes, type Hex, type SignedEvent, toHex } from '../event.js';
import {
  type ConsensusResult,
  Hashgraph,
  type HashgraphConfig,
  type InsertResult,
  type VerifySignature,
} from '../hashgraph.js';
import { ReferenceHashgraph } from './reference.js';

/**
 * Fixture builder in the style of the "play" tables of mosaicnetworks/babble: a hashgraph is
 * written as rows `[label, creator, selfParent, otherParent, timestamp?, payloads?]`, and the
 * builder turns each row into a really signed event. Pure and deterministic: keys come from the
 * member names, timestamps from the row order unless given, so the same play always yields
 * byte-identical events (and therefore the same signatures and coin bits).
 */

export type PlayRow = readonly [
  label: string,
  creator: string,
  selfParent: string | null,
  otherParent: string | null,
  timestamp?: number,
  payloads?: readonly string[],
];

export interface PlayMember {
  readonly name: string;
  /** Position among the members sorted by name. */
  readonly index: number;
  readonly key: Hex;
  readonly publicKey: Uint8Array;
  readonly secretKey: Uint8Array;
  sign(message: Uint8Array): Uint8Array;
}

const utf8 = new TextEncoder();

/** secret key = sha256('dagger-test-key:' + name): the same name is always the same member. */
export function testMember(name: string, index = 0): PlayMember {
  const secretKey = sha256(utf8.encode(`dagger-test-key:${name}`));
  const signer = signerFromSecretKey(secretKey);
  const publicKey = signer.publicKey;
  return { name, index, key: toHex(publicKey), publicKey, secretKey, sign: (m) => signer.sign(m) };
}

/** Members sorted by name, each labelled with its index in that order. */
export function testMembers(names: readonly string[]): PlayMember[] {
  if (new Set(names).size !== names.length) throw new Error('duplicate member name');
  return [...names].sort().map((name, index) => testMember(name, index));
}

export const defaultVerify: VerifySignature = (signature, message, publicKey) =>
  strictVerifier.verify(signature, message, publicKey);

/** Verifier that remembers verdicts: property tests insert the same events into many graphs. */
export function cachingVerifier(inner: VerifySignature = defaultVerify): VerifySignature {
  const seen = new Map<string, boolean>();
  return (signature, message, publicKey) => {
    const k = `${toHex(signature)}:${toHex(message)}:${toHex(publicKey)}`;
    let v = seen.get(k);
    if (v === undefined) {
      v = inner(signature, message, publicKey);
      seen.set(k, v);
    }
    return v;
  };
}

export interface Play {
  readonly members: readonly PlayMember[];
  /** label -> event, in row order. */
  readonly events: ReadonlyMap<string, SignedEvent>;
  /** Labels in row order (a topological order: parents always come first). */
  readonly labels: readonly string[];
  event(label: string): SignedEvent;
  id(label: string): Hex;
  labelOf(id: Hex): string;
  member(name: string): PlayMember;
}

/**
 * Builds signed events from rows. Parents must appear in earlier rows. seq follows the
 * self-parent (0 without one). A row without a timestamp gets one more than the largest
 * timestamp used so far, so default timestamps strictly increase along every self-chain.
 * Two rows with one creator and one self-parent make a fork.
 */
export function buildPlay(memberNames: readonly string[], rows: readonly PlayRow[]): Play {
  const members = testMembers(memberNames);
  const byName = new Map(members.map((m) => [m.name, m]));
  const events = new Map<string, SignedEvent>();
  const creatorOf = new Map<string, string>();
  const labelById = new Map<Hex, string>();
  let clock = 0;
  for (const [label, creator, selfParent, otherParent, timestamp, payloads] of rows) {
    if (events.has(label)) throw new Error(`duplicate label ${label}`);
    const m = byName.get(creator);
    if (!m) throw new Error(`${label}: unknown creator ${creator}`);
    const sp = selfParent === null ? null : events.get(selfParent);
    const op = otherParent === null ? null : events.get(otherParent);
    if (sp === undefined) throw new Error(`${label}: self-parent ${String(selfParent)} not defined above`);
    if (op === undefined) throw new Error(`${label}: other-parent ${String(otherParent)} not defined above`);
    if (sp && creatorOf.get(selfParent!) !== creator)
      throw new Error(`${label}: self-parent ${String(selfParent)} has another creator`);
    const ts = timestamp ?? clock + 1;
    clock = Math.max(clock, ts);
    const event = assembleEvent(
      {
        creator: m.publicKey,
        seq: sp ? sp.body.seq + 1 : 0,
        selfParent: sp ? sp.id : null,
        otherParent: op ? op.id : null,
        timestamp: ts,
        payloads: (payloads ?? []).map((p) => utf8.encode(p)),
        stateRoot: new Uint8Array(0),
      },
      (id) => m.sign(id),
      sha256,
    );
    events.set(label, event);
    creatorOf.set(label, creator);
    labelById.set(event.idHex, label);
  }
  const labels = [...events.keys()];
  return {
    members,
    events,
    labels,
    event(label) {
      const e = events.get(label);
      if (!e) throw new Error(`unknown label ${label}`);
      return e;
    },
    id(label) {
      return this.event(label).idHex;
    },
    labelOf(id) {
      const l = labelById.get(id);
      if (l === undefined) throw new Error(`unknown event id ${id}`);
      return l;
    },
    member(name) {
      const mm = byName.get(name);
      if (!mm) throw new Error(`unknown member ${name}`);
      return mm;
    },
  };
}

export interface PlayGraphOptions {
  /** name -> stake; members not listed get stake 1. */
  readonly stakes?: Readonly<Record<string, number>>;
  readonly config?: Partial<Omit<HashgraphConfig, 'genesis'>>;
  /** Labels to insert, in this order (default: every row, in row order). */
  readonly order?: readonly string[];
}

export interface Described {
  readonly round: number;
  readonly witness: boolean;
  readonly famous: boolean | null;
  readonly roundReceived: number | null;
}

export interface OrderedLabel {
  readonly label: string;
  readonly round: number;
  readonly roundReceived: number;
  readonly consensusTimestamp: number;
  readonly consensusIndex: number;
}

export interface PlayGraph {
  readonly play: Play;
  readonly graph: Hashgraph;
  /** What insert returned, per label inserted. */
  readonly inserted: ReadonlyMap<string, InsertResult>;
  describe(label: string): Described;
  /** Witness labels of a round, sorted. */
  witnesses(round: number): string[];
  /** Runs consensus and returns what became ordered, by label. */
  consensus(): { ordered: OrderedLabel[]; decidedRounds: readonly number[]; raw: ConsensusResult };
}

export function genesisOf(play: Play, stakes: Readonly<Record<string, number>> = {}) {
  return play.members.map((m) => ({ key: m.key, stake: stakes[m.name] ?? 1 }));
}

/** Inserts a play into a fresh Hashgraph (runConsensus is left to the caller). */
export function playGraph(play: Play, options: PlayGraphOptions = {}): PlayGraph {
  const graph = new Hashgraph({
    verify: defaultVerify,
    ...options.config,
    genesis: genesisOf(play, options.stakes),
  });
  const inserted = new Map<string, InsertResult>();
  for (const label of options.order ?? play.labels) inserted.set(label, graph.insert(play.event(label)));
  return {
    play,
    graph,
    inserted,
    describe(label) {
      const d = graph.describe(play.id(label));
      if (!d) throw new Error(`${label} is not in the graph`);
      return d;
    },
    witnesses(round) {
      return graph
        .witnessesOf(round)
        .map((id) => play.labelOf(id))
        .sort();
    },
    consensus() {
      const raw = graph.runConsensus();
      return {
        raw,
        decidedRounds: raw.decidedRounds,
        ordered: raw.ordered.map((o) => ({
          label: play.labelOf(o.event.idHex),
          round: o.round,
          roundReceived: o.roundReceived,
          consensusTimestamp: o.consensusTimestamp,
          consensusIndex: o.consensusIndex,
        })),
      };
    },
  };
}

/** The coin of a coin round, as the core flips it: lowest bit of signature byte 32. */
export function coinBit(event: SignedEvent): boolean {
  return (event.signature[32]! & 1) === 1;
}

/**
 * The paper's tie-break key: the event's signature XOR the signatures of all unique famous
 * witnesses of its round received. Smaller (byte order) comes first.
 */
export function whitenedSignature(
  event: SignedEvent,
  uniqueFamousWitnesses: readonly SignedEvent[],
): Uint8Array {
  const out = Uint8Array.from(event.signature);
  for (const w of uniqueFamousWitnesses) for (let i = 0; i < out.length; i++) out[i]! ^= w.signature[i]!;
  return out;
}

/** Labels sorted by whitened signature, as the paper breaks a tie of consensus timestamps. */
export function byWhitenedSignature(play: Play, labels: readonly string[], ufw: readonly string[]): string[] {
  const ws = ufw.map((l) => play.event(l));
  return [...labels].sort((a, b) =>
    compareBytes(whitenedSignature(play.event(a), ws), whitenedSignature(play.event(b), ws)),
  );
}

export interface PlayReference {
  readonly reference: ReferenceHashgraph;
  describe(label: string): Described;
  ordered: { label: string; roundReceived: number; consensusTimestamp: number }[];
}

/** The naive paper transcription (reference.ts) over every event of a play. */
export function playReference(
  play: Play,
  options: { stakes?: Readonly<Record<string, number>>; coinRoundFrequency?: number } = {},
): PlayReference {
  const reference = new ReferenceHashgraph(
    play.labels.map((l) => play.event(l)),
    {
      stakes: new Map(genesisOf(play, options.stakes).map((g) => [g.key, g.stake])),
      coinRoundFrequency: options.coinRoundFrequency ?? 10,
    },
  );
  return {
    reference,
    describe(label) {
      const i = reference.idx(play.id(label));
      return {
        round: reference.rounds[i]!,
        witness: reference.witness[i]!,
        famous: reference.famous[i]!,
        roundReceived: reference.roundReceived[i]!,
      };
    },
    ordered: reference.order.map((o) => ({
      label: play.labelOf(o.id),
      roundReceived: o.roundReceived,
      consensusTimestamp: o.consensusTimestamp,
    })),
  };
}
