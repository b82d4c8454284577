import 'reflect-metadata';
import { type INestApplication, Module } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { NestFactory } from '@nestjs/core';
import { ApiErrorFilter } from './errors.js';
import { HealthController, MetricsController } from './health.controller.js';
import { LedgerController } from './ledger.controller.js';
import { GetLedgerHeadHandler, GetOrderHashAtHandler } from './ledger.queries.js';
import { NODE_RUNTIME, type RuntimeHandle } from './tokens.js';

/** One node's HTTP API. The node runtime is created outside and handed in. */
export async function createNodeApp(runtime: RuntimeHandle): Promise<INestApplication> {
  @Module({
    imports: [CqrsModule.forRoot()],
    controllers: [LedgerController, HealthController, MetricsController],
    providers: [{ provide: NODE_RUNTIME, useValue: runtime }, GetLedgerHeadHandler, GetOrderHashAtHandler],
  })
  class NodeApiModule {}

  const app = await NestFactory.create(NodeApiModule, { logger: ['error', 'warn'], bodyParser: true });
  app.useGlobalFilters(new ApiErrorFilter());
  return app;
}
