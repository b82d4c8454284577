import { Inject } from '@nestjs/common';
import {
  Command,
  CommandHandler,
  type ICommandHandler,
  type IQueryHandler,
  Query,
  QueryHandler,
} from '@nestjs/cqrs';
import { API_ERROR_STATUS, ApiError } from './errors.js';
import { API_CONTEXT, type ApiContext } from './tokens.js';

export interface SubmitResult {
  readonly payloadId: string;
  readonly duplicate: boolean;
}

/** Intake: a request body to judge and make durable, as raw bytes or as parsed JSON. */
export class SubmitPayloadCommand extends Command<SubmitResult> {
  constructor(readonly body: { readonly raw: Uint8Array } | { readonly parsed: unknown }) {
    super();
  }
}

export interface PayloadStatus {
  readonly status: 'pending' | 'ordered' | 'accepted' | 'rejected';
  readonly code?: string;
  readonly reason?: string;
  readonly round?: number;
  readonly consensusIndex?: number;
}

export class GetPayloadStatusQuery extends Query<PayloadStatus> {
  constructor(readonly payloadId: string) {
    super();
  }
}

const noIntake = () =>
  new ApiError(503, 'UNAVAILABLE', 'this node takes no payloads now (intake not configured)');

const utf8 = new TextEncoder();

/** Judges the body (in a worker thread when there is one), makes it durable through the group-commit intake, counts it. */
@CommandHandler(SubmitPayloadCommand)
export class SubmitPayloadHandler implements ICommandHandler<SubmitPayloadCommand, SubmitResult> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}

  execute({ body }: SubmitPayloadCommand): Promise<SubmitResult> {
    return this.submitRaw('raw' in body ? body.raw : utf8.encode(JSON.stringify(body.parsed ?? {})));
  }

  /** The command's work on a raw body; the fast intake calls it without the CommandBus. */
  async submitRaw(raw: Uint8Array): Promise<SubmitResult> {
    const started = performance.now();
    const judged = await this.ctx.judge.judge(raw);
    if (!judged.ok) {
      const { code, message, details } = judged.error;
      const status = (API_ERROR_STATUS as Record<string, number>)[code] ?? 400;
      throw new ApiError(status, code, message, details);
    }
    const intake = this.ctx.intake;
    if (!intake) throw noIntake();
    const outcome = await intake.submit({ payloadId: judged.payloadId, bytes: judged.bytes });
    const m = this.ctx.metrics;
    m.accepted.inc();
    if (outcome === 'duplicate') m.duplicates.inc();
    m.intakeSeconds.observe((performance.now() - started) / 1000);
    return { payloadId: judged.payloadId, duplicate: outcome === 'duplicate' };
  }
}

/** Read models first (accepted/rejected), then the node's order ('ordered'), then the outbox ('pending'). */
@QueryHandler(GetPayloadStatusQuery)
export class GetPayloadStatusHandler implements IQueryHandler<GetPayloadStatusQuery, PayloadStatus> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}

  async execute({ payloadId }: GetPayloadStatusQuery): Promise<PayloadStatus> {
    const { readModels, orderLookup, intake, outbox } = this.ctx;
    const done = await readModels?.payload(payloadId);
    if (done)
      return {
        status: done.status,
        ...(done.code !== undefined ? { code: done.code } : {}),
        ...(done.reason !== undefined ? { reason: done.reason } : {}),
        round: done.round,
        consensusIndex: done.consensusIndex,
      };
    const ordered = await orderLookup?.ordered(payloadId);
    if (ordered) return { status: 'ordered', round: ordered.round, consensusIndex: ordered.consensusIndex };
    if (intake?.knows(payloadId) || (await outbox?.status(payloadId)) === 'pending')
      return { status: 'pending' };
    throw new ApiError(404, 'NOT_FOUND', `no payload ${payloadId} is known to this node`);
  }
}
