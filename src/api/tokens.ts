import type { ReadModelQueries } from '../../projections/read-models.js';
import type { GraphEvent, LedgerHead, NodeStats } from '../node/node-runtime.js';
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
