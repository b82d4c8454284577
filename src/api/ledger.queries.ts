import { Inject } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type { GraphEvent, LedgerHead } from '../node/node-runtime.js';
import { NODE_RUNTIME, type RuntimeHandle } from './tokens.js';
import { ApiError } from './errors.js';

export class GetLedgerHeadQuery extends Query<LedgerHead> {}

export class GetOrderHashAtQuery extends Query<{ consensusIndex: number; orderHash: string }> {
  constructor(readonly index: number) {
    super();
  }
}

@QueryHandler(GetLedgerHeadQuery)
export class GetLedgerHeadHandler implements IQueryHandler<GetLedgerHeadQuery, LedgerHead> {
  constructor(@Inject(NODE_RUNTIME) private readonly runtime: RuntimeHandle) {}
  async execute(): Promise<LedgerHead> {
    return this.runtime.head();
  }
}

@QueryHandler(GetOrderHashAtQuery)
export class GetOrderHashAtHandler implements IQueryHandler<GetOrderHashAtQuery> {
  constructor(@Inject(NODE_RUNTIME) private readonly runtime: RuntimeHandle) {}
  async execute(q: GetOrderHashAtQuery): Promise<{ consensusIndex: number; orderHash: string }> {
    const head = this.runtime.head();
    if (q.index > head.consensusIndex)
      throw new ApiError(
        404,
        'INDEX_NOT_ORDERED',
        `consensus index ${q.index} is ahead of ${head.consensusIndex}`,
      );
    const orderHash = await this.runtime.orderHashAtIndex(q.index);
    if (orderHash === undefined)
      throw new ApiError(404, 'INDEX_NOT_FOUND', `no order hash stored for ${q.index}`);
    return { consensusIndex: q.index, orderHash };
  }
}

export class GetGraphQuery extends Query<{ fromRound: number; items: readonly GraphEvent[] }> {
  constructor(
    readonly fromRound: number,
    readonly rounds: number,
  ) {
    super();
  }
}

/** Events still in the node's memory (decided rounds leave it after the prune horizon). */
@QueryHandler(GetGraphQuery)
export class GetGraphHandler implements IQueryHandler<GetGraphQuery> {
  constructor(@Inject(NODE_RUNTIME) private readonly runtime: RuntimeHandle) {}
  async execute(q: GetGraphQuery): Promise<{ fromRound: number; items: readonly GraphEvent[] }> {
    return { fromRound: q.fromRound, items: this.runtime.graphFrom?.(q.fromRound, q.rounds) ?? [] };
  }
}
