import { fromHex, sha256, type SignatureVerifier, strictVerifier, toHex } from '../../domain/crypto/index.js';
import { type EnvelopePorts, type Opened, openPayloadBytes } from '../../domain/payloads/index.js';
import type { LedgerRecord } from '../../domain/processor/events.js';
import { PayloadProcessor, type ProcessorConfig } from '../../domain/processor/index.js';
import type { OrderedEvent } from '../../domain/shadowgraph/hashgraph.js';
import type { MembershipChange } from '../../domain/shadowgraph/membership.js';
import type { Genesis } from './genesis.js';
import type { LedgerPort } from './node-runtime.js';

/** Roots kept for comparing with what peers' events carry. */
const REMEMBERED_ROOTS = 256;
/** Recent decisions kept for GET /v1/payloads/:id while the read models catch up. */
const REMEMBERED_DECISIONS = 100_000;
/** Envelopes this node's API judged and has not yet seen ordered. */
const REMEMBERED_JUDGED = 200_000;

/** Stands in for a verification already done on exactly these bytes with the strict rule. */
const ALREADY_VERIFIED: SignatureVerifier = { verify: () => true };

export function processorConfigOf(genesis: Genesis): ProcessorConfig {
  return {
    members: genesis.members.map((m) => ({ key: m.key, stake: m.stake, endpoint: m.endpoint })),
    hosts: genesis.hosts,
    accounts: genesis.accounts,
    defaultQuota: genesis.defaultQuota,
    maxProposalStake: genesis.maxProposalStake,
    membershipDelay: genesis.consensus.membershipDelay,
    operationDeadlineMicros: genesis.processor.operationDeadlineMs * 1000,
    maxPayloadTtlMs: genesis.processor.maxPayloadTtlMs,
  };
}

/** The Payload Processor behind the runtime's ledger port. */
export class LedgerDriver implements LedgerPort {
  readonly processor: PayloadProcessor;
  private drained: LedgerRecord[] = [];
  private latest: { round: number; root: Uint8Array } | null = null;
  private readonly roots = new Map<number, Uint8Array>();
  private readonly decidedListeners: ((payloadIds: readonly string[]) => void)[] = [];
  private readonly decisions = new Map<string, { round: number; consensusIndex: number }>();

  private readonly judged = new Set<string>();
  /** The last bytes hashed and their digest: see `hash`. */
  private lastHashed: Uint8Array | null = null;
  private lastDigest: Uint8Array | null = null;

  private readonly strict: EnvelopePorts = { verify: strictVerifier, hash: (bytes) => this.hash(bytes) };
  private readonly verified: EnvelopePorts = { verify: ALREADY_VERIFIED, hash: this.strict.hash };

  constructor(genesis: Genesis) {
    this.processor = new PayloadProcessor(processorConfigOf(genesis), {
      ...this.strict,
      open: (bytes) => this.open(bytes),
    });
  }

  /**
   * sha256, answered from the last call when the bytes are equal: `open` hashes a payload to look
   * it up, then openPayloadBytes hashes its canonical re-encoding (equal bytes when canonical) for
   * the id, and a rejection hashes the payload for its id; one hash serves all three.
   */
  private hash(bytes: Uint8Array): Uint8Array {
    const last = this.lastHashed;
    if (last && (last === bytes || Buffer.compare(last, bytes) === 0)) return this.lastDigest!;
    this.lastHashed = bytes;
    return (this.lastDigest = sha256(bytes));
  }

  /**
   * The API judged these canonical envelopes (strict signature rule included) before they were
   * published: when they come back in order, their signatures need not be verified again.
   */
  judgedByApi(payloadIds: Iterable<string>): void {
    for (const id of payloadIds) {
      this.judged.add(id);
      if (this.judged.size > REMEMBERED_JUDGED) this.judged.delete(this.judged.values().next().value!);
    }
  }

  /** Answers exactly what openPayloadBytes with the strict verifier answers (the processor's contract). */
  private open(bytes: Uint8Array): Opened {
    const known = this.judged.size > 0 && this.judged.delete(toHex(this.hash(bytes)));
    return openPayloadBytes(bytes, known ? this.verified : this.strict);
  }

  onRound(round: number, ordered: readonly OrderedEvent[]): MembershipChange[] {
    const outcome = this.processor.processRound(
      round,
      ordered.map((o) => ({
        consensusIndex: o.consensusIndex,
        consensusTimestamp: o.consensusTimestamp,
        payloads: o.event.body.payloads,
      })),
    );
    for (const r of outcome.records) this.drained.push(r);
    const root = fromHex(outcome.root);
    this.latest = { round, root };
    this.roots.set(round, root);
    if (this.roots.size > REMEMBERED_ROOTS) this.roots.delete(this.roots.keys().next().value!);
    return outcome.membership;
  }

  drain(): readonly LedgerRecord[] {
    const out = this.drained;
    this.drained = [];
    const ids: string[] = [];
    for (const r of out)
      if (r.event.type === 'PayloadAccepted' || r.event.type === 'PayloadRejected') {
        ids.push(r.event.payloadId);
        this.decisions.set(r.event.payloadId, { round: r.at.round, consensusIndex: r.at.consensusIndex });
      }
    while (this.decisions.size > REMEMBERED_DECISIONS)
      this.decisions.delete(this.decisions.keys().next().value!);
    if (ids.length > 0) for (const l of this.decidedListeners) l(ids);
    return out;
  }

  latestRoot(): { round: number; root: Uint8Array } | null {
    return this.latest;
  }

  rootOf(round: number): Uint8Array | undefined {
    return this.roots.get(round);
  }

  /** Payload ids the ledger decided (accepted or rejected), as records are drained. */
  onDecided(listener: (payloadIds: readonly string[]) => void): void {
    this.decidedListeners.push(listener);
  }

  /** Where the ledger decided a payload, while it is recent. */
  decisionOf(payloadId: string): { round: number; consensusIndex: number } | null {
    return this.decisions.get(payloadId) ?? null;
  }

  /** Whether the processor still remembers deciding this payload (ids are kept until they expire). */
  hasSeen(payloadId: string): boolean {
    return this.processor.state.seen.has(payloadId);
  }

  memberSince(key: string): number | null {
    const m = this.processor.state.members.get(key);
    return m && m.until === null ? m.since : null;
  }

  /** Operators whose stake counts now or will: members, and those admitted but not yet effective. */
  operators(): string[] {
    const out: string[] = [];
    for (const key of this.processor.state.members.sortedKeys()) {
      const m = this.processor.state.members.get(key)!;
      if (m.until === null) out.push(key);
    }
    return out;
  }
}
