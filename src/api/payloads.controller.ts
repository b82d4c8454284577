import { Body, Controller, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { CommandBus, QueryBus } from '@nestjs/cqrs';
import { ApiBody, ApiOperation, ApiParam, ApiResponse, ApiTags } from '@nestjs/swagger';
import { EnvelopeDto, ErrorDto, PayloadAcceptedDto, PayloadStatusDto } from './dto.js';
import { GetPayloadStatusQuery, type PayloadStatus, SubmitPayloadCommand } from './payloads.js';
import { parseOr400, payloadIdParam } from './validation.js';

@ApiTags('payloads')
@Controller('v1/payloads')
export class PayloadsController {
  constructor(
    @Inject(CommandBus) private readonly commands: CommandBus,
    @Inject(QueryBus) private readonly queries: QueryBus,
  ) {}

  @Post()
  @HttpCode(202)
  @ApiOperation({
    summary: 'Submit a signed envelope',
    description:
      'Checks JSON, shape, size and signature, makes the envelope durable in the outbox, then answers 202. ' +
      'Posting the same envelope again answers 202 with the same id and stores nothing new.',
  })
  @ApiBody({ type: EnvelopeDto })
  @ApiResponse({ status: 202, type: PayloadAcceptedDto, description: 'durable; will be published' })
  @ApiResponse({
    status: 400,
    type: ErrorDto,
    description: 'MALFORMED_JSON, INVALID_ENVELOPE, UNKNOWN_PAYLOAD_TYPE, INVALID_PAYLOAD, BAD_SIGNATURE',
  })
  @ApiResponse({ status: 413, type: ErrorDto, description: 'PAYLOAD_TOO_LARGE (body or canonical envelope)' })
  @ApiResponse({
    status: 503,
    type: ErrorDto,
    description: 'UNAVAILABLE: retry here later or on another node',
  })
  async submit(@Body() body: unknown): Promise<{ payloadId: string }> {
    const { payloadId } = await this.commands.execute(new SubmitPayloadCommand({ parsed: body }));
    return { payloadId };
  }

  @Get(':id')
  @ApiOperation({ summary: 'Where a payload is: pending, ordered, accepted or rejected' })
  @ApiParam({ name: 'id', description: 'payload id (64 lowercase hex)' })
  @ApiResponse({ status: 200, type: PayloadStatusDto })
  @ApiResponse({ status: 400, type: ErrorDto, description: 'BAD_REQUEST: not a payload id' })
  @ApiResponse({ status: 404, type: ErrorDto, description: 'NOT_FOUND: this node does not know it' })
  status(@Param('id') id: string): Promise<PayloadStatus> {
    return this.queries.execute(new GetPayloadStatusQuery(parseOr400(payloadIdParam, id, 'payload id')));
  }
}
