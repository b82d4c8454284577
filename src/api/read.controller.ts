import { applyDecorators, Controller, Get, Inject, Param, Query as QueryParams } from '@nestjs/common';
import { QueryBus } from '@nestjs/cqrs';
import { ApiOperation, ApiParam, ApiQuery, ApiResponse, ApiTags } from '@nestjs/swagger';
import type {
  AccountView,
  HostView,
  OperatorView,
  Page,
  ProposalView,
  VmView,
} from '../../projections/read-models.js';
import {
  AccountDto,
  ErrorDto,
  HostPageDto,
  OperatorPageDto,
  ProposalPageDto,
  VmDto,
  VmPageDto,
} from './dto.js';
import {
  GetAccountQuery,
  GetVmQuery,
  ListHostsQuery,
  ListOperatorsQuery,
  ListProposalsQuery,
  ListVmsQuery,
} from './read.queries.js';
import { accountKeyParam, MAX_PAGE, pageQuery, parseOr400, vmIdParam, vmListQuery } from './validation.js';

const PageParams = () =>
  applyDecorators(
    ApiQuery({ name: 'limit', required: false, type: 'integer', description: `1..${MAX_PAGE}` }),
    ApiQuery({ name: 'after', required: false, description: 'cursor from the previous page' }),
    ApiResponse({
      status: 400,
      type: ErrorDto,
      description: 'BAD_REQUEST: a bad or unknown query parameter',
    }),
  );

@ApiTags('read models')
@ApiResponse({ status: 503, type: ErrorDto, description: 'UNAVAILABLE: no read models on this node now' })
@Controller('v1')
export class ReadController {
  constructor(@Inject(QueryBus) private readonly queries: QueryBus) {}

  @Get('vms')
  @ApiOperation({ summary: 'VMs, by id' })
  @ApiQuery({ name: 'owner', required: false, description: 'owner public key (hex)' })
  @ApiQuery({ name: 'hostId', required: false })
  @PageParams()
  @ApiResponse({ status: 200, type: VmPageDto })
  vms(@QueryParams() query: unknown): Promise<Page<VmView>> {
    return this.queries.execute(new ListVmsQuery(parseOr400(vmListQuery, query, 'query')));
  }

  @Get('vms/:id')
  @ApiOperation({ summary: 'One VM' })
  @ApiParam({ name: 'id', description: 'vm id' })
  @ApiResponse({ status: 200, type: VmDto })
  @ApiResponse({ status: 404, type: ErrorDto })
  vm(@Param('id') id: string): Promise<VmView> {
    return this.queries.execute(new GetVmQuery(parseOr400(vmIdParam, id, 'vm id')));
  }

  @Get('hosts')
  @ApiOperation({ summary: 'Hosts, by id' })
  @PageParams()
  @ApiResponse({ status: 200, type: HostPageDto })
  hosts(@QueryParams() query: unknown): Promise<Page<HostView>> {
    return this.queries.execute(new ListHostsQuery(parseOr400(pageQuery, query, 'query')));
  }

  @Get('operators')
  @ApiOperation({ summary: 'Operators (members and removed), by key' })
  @PageParams()
  @ApiResponse({ status: 200, type: OperatorPageDto })
  operators(@QueryParams() query: unknown): Promise<Page<OperatorView>> {
    return this.queries.execute(new ListOperatorsQuery(parseOr400(pageQuery, query, 'query')));
  }

  @Get('operators/proposals')
  @ApiOperation({ summary: 'Admission and removal proposals with their votes, by id' })
  @PageParams()
  @ApiResponse({ status: 200, type: ProposalPageDto })
  proposals(@QueryParams() query: unknown): Promise<Page<ProposalView>> {
    return this.queries.execute(new ListProposalsQuery(parseOr400(pageQuery, query, 'query')));
  }

  @Get('accounts/:key')
  @ApiOperation({ summary: 'A key’s usage and quota' })
  @ApiParam({ name: 'key', description: 'public key (64 lowercase hex)' })
  @ApiResponse({ status: 200, type: AccountDto })
  @ApiResponse({ status: 404, type: ErrorDto })
  account(@Param('key') key: string): Promise<AccountView> {
    return this.queries.execute(new GetAccountQuery(parseOr400(accountKeyParam, key, 'account key')));
  }
}
