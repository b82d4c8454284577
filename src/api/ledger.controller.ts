import { Controller, Get, Inject, Param } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiError } from './errors.js';
import { GetLedgerHeadQuery, GetOrderHashAtQuery } from './ledger.queries.js';

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
