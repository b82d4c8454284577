import type { MembershipChange } from '../shadowgraph/membership.js';
import type { ProcessorConfig, ResolvedConfig } from './config.js';
import { applyPayload, applyRound, type ProcessorPorts } from './decide.js';
import { ProcessorError } from './errors.js';
import type { LedgerEvent, LedgerPosition, LedgerRecord } from './events.js';
import { evolve } from './evolve.js';
import { membershipChangesOf } from './membership.js';
import { initialState, type ProcessorState } from './state.js';
import { stateRoot } from './state-root.js';

/** One ShadowGraph event in consensus order, with the payloads it carries. */
export interface OrderedPayloads {
  readonly consensusIndex: number;
  /** µs; strictly increasing along the order. */
  readonly consensusTimestamp: number;
  readonly payloads: readonly Uint8Array[];
}

export interface RoundOutcome {
  readonly round: number;
  /** Every ledger record of the round, the closing StateRootComputed last. */
  readonly records: LedgerRecord[];
  /** For the hashgraph's membership port: what the round decided, effective at round + k. */
  readonly membership: MembershipChange[];
  readonly root: string;
}

/**
 * Holds the state and numbers the ledger. Feed it each decided round once, in round order:
 * processRound(), or applyEvent() per ordered event and then closeRound(). Not reentrant.
 */
export class PayloadProcessor {
  private readonly current: ProcessorState;
  private ledgerIndex: number;
  private lastTimestamp = 0;
  private lastIndex = 0;
  private pending: LedgerRecord[] = [];

  constructor(
    config: ProcessorConfig | ResolvedConfig,
    private readonly ports: ProcessorPorts,
    options: { readonly nextLedgerIndex?: number } = {},
  ) {
    this.current = initialState(config);
    this.ledgerIndex = options.nextLedgerIndex ?? 0;
  }

  /** The live state; evolve() mutates it, so do not hold on to it across calls expecting a snapshot. */
  get state(): ProcessorState {
    return this.current;
  }

  /** The last closed round; -1 before the first. */
  get round(): number {
    return this.current.round.value;
  }

  get nextLedgerIndex(): number {
    return this.ledgerIndex;
  }

  root(): string {
    return stateRoot(this.current, this.ports.hash);
  }

  /** Applies the payloads of one ordered event of `round` (not yet closed). */
  applyEvent(round: number, event: OrderedPayloads): LedgerRecord[] {
    const out: LedgerRecord[] = [];
    for (let i = 0; i < event.payloads.length; i++) {
      const at: LedgerPosition = {
        consensusIndex: event.consensusIndex,
        payloadIndex: i,
        round,
        consensusTimestamp: event.consensusTimestamp,
      };
      this.record(
        at,
        applyPayload(this.current, { bytes: event.payloads[i]!, position: at }, this.ports),
        out,
      );
    }
    this.lastTimestamp = event.consensusTimestamp;
    this.lastIndex = event.consensusIndex;
    this.pending.push(...out);
    return out;
  }

  /**
   * Closes `round`: timeouts, pruning and its state root. Time defaults to the last applied
   * event's, which is right for a round that ordered none.
   */
  closeRound(
    round: number,
    at: { readonly consensusTimestamp: number; readonly consensusIndex: number } = {
      consensusTimestamp: this.lastTimestamp,
      consensusIndex: this.lastIndex,
    },
  ): RoundOutcome {
    const out: LedgerRecord[] = [];
    const events = applyRound(this.current, { round, ...at }, this.ports);
    this.record({ ...at, payloadIndex: -1, round }, events, out);
    const records = [...this.pending, ...out];
    this.pending = [];
    const last = events[events.length - 1];
    const root = last?.type === 'StateRootComputed' ? last.root : this.root();
    return { round, records, membership: membershipChangesOf(records.map((r) => r.event)), root };
  }

  /**
   * Applies a decided round's ordered events and closes it, by default at its last event's time
   * (see closeRound).
   */
  processRound(
    round: number,
    events: readonly OrderedPayloads[],
    close?: { readonly consensusTimestamp: number; readonly consensusIndex: number },
  ): RoundOutcome {
    if (round <= this.current.round.value)
      throw new ProcessorError('ROUND_ORDER', `round ${round}; round ${this.current.round.value} is closed`);
    for (const e of events) this.applyEvent(round, e);
    return close ? this.closeRound(round, close) : this.closeRound(round);
  }

  /**
   * Rebuilds a processor from stream `ledger` (records in ledger order) with evolve() alone. With
   * `checkRoots`, recomputes every state root and throws ProcessorError('ROOT_MISMATCH') at the first difference.
   */
  static replay(
    config: ProcessorConfig | ResolvedConfig,
    records: Iterable<LedgerRecord>,
    ports: ProcessorPorts,
    options: { readonly checkRoots?: boolean } = {},
  ): PayloadProcessor {
    const p = new PayloadProcessor(config, ports);
    for (const r of records) {
      if (r.ledgerIndex !== p.ledgerIndex)
        throw new ProcessorError('BAD_EVENT', `ledger index ${r.ledgerIndex}; expected ${p.ledgerIndex}`);
      evolve(p.current, r.event, r.at);
      p.ledgerIndex++;
      p.lastTimestamp = r.at.consensusTimestamp;
      p.lastIndex = r.at.consensusIndex;
      if (options.checkRoots && r.event.type === 'StateRootComputed') {
        const root = p.root();
        if (root !== r.event.root)
          throw new ProcessorError(
            'ROOT_MISMATCH',
            `round ${r.event.round}: ledger ${r.event.root}, replay ${root}`,
          );
      }
    }
    return p;
  }

  private record(at: LedgerPosition, events: readonly LedgerEvent[], out: LedgerRecord[]): void {
    for (const event of events) out.push({ ledgerIndex: this.ledgerIndex++, at, event });
  }
}
