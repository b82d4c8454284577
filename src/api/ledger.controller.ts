import { Controller, Get, Inject, Param, Query } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiError } from './errors.js';
import { GetGraphQuery, GetLedgerHeadQuery, GetOrderHashAtQuery } from './ledger.queries.js';

@Controller('v1/ledger')
export class LedgerController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get('head')
  head() {
    return this.queries.execute(new GetLedgerHeadQuery());
  }

  @Get('at/:index')
  at(@Param('index') index: string) {
    if (!/^\d{1,15}$/.test(index))
      throw new ApiError(400, 'BAD_INDEX', 'index must be a non-negative integer');
    return this.queries.execute(new GetOrderHashAtQuery(Number(index)));
  }
}

/** The explorer's view: events with their round, witness and fame flags and round received. */
@Controller('v1/graph')
export class GraphController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get()
  graph(@Query('fromRound') fromRound?: string, @Query('rounds') rounds?: string) {
    const from = fromRound ?? '0';
    const span = rounds ?? '5';
    if (!/^\d{1,9}$/.test(from))
      throw new ApiError(400, 'BAD_REQUEST', 'fromRound must be a non-negative integer');
    if (!/^\d{1,2}$/.test(span) || Number(span) < 1 || Number(span) > 50)
      throw new ApiError(400, 'BAD_REQUEST', 'rounds must be an integer from 1 to 50');
    return this.queries.execute(new GetGraphQuery(Number(from), Number(span)));
  }
}
