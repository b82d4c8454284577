import type { ReadModelQueries } from '../../projections/read-models.js';
import { emptyNodeStats, type GraphEvent, type LedgerHead, type NodeStats } from '../node/node-runtime.js';
import type { GroupCommitIntake } from './intake.js';
import type { ApiMetrics } from './metrics.js';
import type { IntakeOutbox, PayloadOrderLookup } from './ports.js';
import type { BodyJudge } from './judge-pool.js';

export const NODE_RUNTIME = Symbol('NODE_RUNTIME');
export const API_CONTEXT = Symbol('API_CONTEXT');

/** What the HTTP layer needs of a node. */
export interface RuntimeHandle {
  readonly self: string;
  readonly isRunning: boolean;
  readonly failed: Error | null;
  readonly stats: NodeStats;
  head(): LedgerHead;
  orderHashAtIndex(index: number): Promise<string | undefined>;
  lastDecidedRound(): number;
  forkCount(): number;
  graphFrom?(fromRound: number, rounds: number): readonly GraphEvent[];
  readonly lastRootMismatch?: {
    readonly creator: string;
    readonly round: number;
    readonly theirs: string;
    readonly ours: string;
  } | null;
}

/** The ports and shared services of one app; a missing port makes its routes answer 503. */
export interface ApiContext {
  readonly metrics: ApiMetrics;
  readonly judge: BodyJudge;
  readonly intake: GroupCommitIntake | null;
  readonly outbox: IntakeOutbox | null;
  readonly readModels: ReadModelQueries | null;
  readonly orderLookup: PayloadOrderLookup | null;
}

/** A handle with no node behind it, at round 0: for an API run on its own (the intake bench, tests). */
export function detachedRuntime(self: string): RuntimeHandle {
  return {
    self,
    isRunning: true,
    failed: null,
    stats: emptyNodeStats(),
    head: () => ({ round: 0, consensusIndex: 0, orderHash: '00'.repeat(32), stateRoot: null }),
    orderHashAtIndex: async () => undefined,
    lastDecidedRound: () => 0,
    forkCount: () => 0,
  };
}
