import 'reflect-metadata';
import { type INestApplication, Inject, Module, type OnModuleDestroy } from '@nestjs/common';
import { CqrsModule } from '@nestjs/cqrs';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { ApiErrorFilter, ErrorReporter } from './errors.js';
import { installFastIntake } from './fast-intake.js';
import { HealthController, MetricsController } from './health.controller.js';
import { GroupCommitIntake } from './intake.js';
import { GraphController, LedgerController } from './ledger.controller.js';
import { GetGraphHandler, GetLedgerHeadHandler, GetOrderHashAtHandler } from './ledger.queries.js';
import { jsonLineLogger } from './log.js';
import { ApiMetrics } from './metrics.js';
import { setupOpenApi } from './openapi.js';
import { PayloadsController } from './payloads.controller.js';
import { GetPayloadStatusHandler, SubmitPayloadHandler } from './payloads.js';
import type { NodeAppOptions } from './ports.js';
import { ReadController } from './read.controller.js';
import { READ_QUERY_HANDLERS } from './read.queries.js';
import { API_CONTEXT, type ApiContext, NODE_RUNTIME, type RuntimeHandle } from './tokens.js';
import { createJudgePool } from './judge-pool.js';

export type { NodeAppOptions } from './ports.js';

export const DEFAULT_BODY_LIMIT_BYTES = 64 * 1024;

/** Commits what the intake has queued when the app closes, then stops the judge workers. */
class IntakeShutdown implements OnModuleDestroy {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async onModuleDestroy(): Promise<void> {
    await this.ctx.intake?.close();
    await this.ctx.judge.close();
  }
}

/**
 * One node's HTTP API. The node runtime and the ports (outbox, publisher, read models, order
 * lookup, lag probes) are created outside and handed in; see ports.ts.
 */
export async function createNodeApp(
  runtime: RuntimeHandle,
  options: NodeAppOptions = {},
): Promise<INestApplication> {
  const log = options.log ?? jsonLineLogger;
  const metrics = new ApiMetrics(options.lag);
  const ctx: ApiContext = {
    metrics,
    judge: createJudgePool(options.judgeThreads ?? 1),
    intake: options.intake
      ? new GroupCommitIntake(
          options.intake.outbox,
          options.intake.publisher,
          options.intake.tuning,
          metrics,
          log,
        )
      : null,
    outbox: options.intake?.outbox ?? null,
    readModels: options.readModels ?? null,
    orderLookup: options.orderLookup ?? null,
  };

  @Module({
    imports: [CqrsModule.forRoot()],
    controllers: [
      PayloadsController,
      ReadController,
      LedgerController,
      GraphController,
      HealthController,
      MetricsController,
    ],
    providers: [
      { provide: NODE_RUNTIME, useValue: runtime },
      { provide: API_CONTEXT, useValue: ctx },
      IntakeShutdown,
      SubmitPayloadHandler,
      GetPayloadStatusHandler,
      GetLedgerHeadHandler,
      GetOrderHashAtHandler,
      GetGraphHandler,
      ...READ_QUERY_HANDLERS,
    ],
  })
  class NodeApiModule {}

  const app = await NestFactory.create<NestExpressApplication>(NodeApiModule, {
    logger: ['error', 'warn'],
    bodyParser: false,
  });
  const limit = options.bodyLimitBytes ?? DEFAULT_BODY_LIMIT_BYTES;
  const reporter = new ErrorReporter(metrics, log);
  app.disable('x-powered-by');
  app.set('etag', false);
  // Any content type is read as JSON: the envelope is the only body this API takes.
  app.useBodyParser('json', { limit, type: () => true });
  app.useGlobalFilters(new ApiErrorFilter(reporter));
  if (options.openApi !== false) setupOpenApi(app);
  await app.init();
  if (options.fastIntake !== false) {
    const handler = app.get(SubmitPayloadHandler);
    installFastIntake(app.getHttpServer(), (raw) => handler.submitRaw(raw), reporter, limit);
  }
  return app;
}
