import type { LedgerHead, NodeStats } from '../node/node-runtime.js';

export const NODE_RUNTIME = Symbol('NODE_RUNTIME');

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
}
