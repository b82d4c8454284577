import { Inject } from '@nestjs/common';
import { type IQueryHandler, Query, QueryHandler } from '@nestjs/cqrs';
import type {
  AccountView,
  HostView,
  OperatorView,
  Page,
  ProposalView,
  ReadModelQueries,
  VmView,
} from '../../projections/read-models.js';
import { ApiError } from './errors.js';
import { API_CONTEXT, type ApiContext } from './tokens.js';
import type { PageQuery, VmListQuery } from './validation.js';

export class GetVmQuery extends Query<VmView> {
  constructor(readonly vmId: string) {
    super();
  }
}
export class ListVmsQuery extends Query<Page<VmView>> {
  constructor(readonly filter: VmListQuery) {
    super();
  }
}
export class ListHostsQuery extends Query<Page<HostView>> {
  constructor(readonly page: PageQuery) {
    super();
  }
}
export class ListOperatorsQuery extends Query<Page<OperatorView>> {
  constructor(readonly page: PageQuery) {
    super();
  }
}
export class ListProposalsQuery extends Query<Page<ProposalView>> {
  constructor(readonly page: PageQuery) {
    super();
  }
}
export class GetAccountQuery extends Query<AccountView> {
  constructor(readonly key: string) {
    super();
  }
}

function models(ctx: ApiContext): ReadModelQueries {
  if (!ctx.readModels) throw new ApiError(503, 'UNAVAILABLE', 'this node serves no read models now');
  return ctx.readModels;
}

/** Only `items` and `next` go out, whatever else an implementation puts on its page. */
function page<T>(p: Page<T>): Page<T> {
  return p.next !== undefined ? { items: p.items, next: p.next } : { items: p.items };
}

const notFound = (what: string) => new ApiError(404, 'NOT_FOUND', `${what} not found`);

@QueryHandler(GetVmQuery)
export class GetVmHandler implements IQueryHandler<GetVmQuery, VmView> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: GetVmQuery): Promise<VmView> {
    const vm = await models(this.ctx).vm(q.vmId);
    if (!vm) throw notFound(`vm ${q.vmId}`);
    return vm;
  }
}

@QueryHandler(ListVmsQuery)
export class ListVmsHandler implements IQueryHandler<ListVmsQuery, Page<VmView>> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: ListVmsQuery): Promise<Page<VmView>> {
    return page(await models(this.ctx).vms(q.filter));
  }
}

@QueryHandler(ListHostsQuery)
export class ListHostsHandler implements IQueryHandler<ListHostsQuery, Page<HostView>> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: ListHostsQuery): Promise<Page<HostView>> {
    return page(await models(this.ctx).hosts(q.page));
  }
}

@QueryHandler(ListOperatorsQuery)
export class ListOperatorsHandler implements IQueryHandler<ListOperatorsQuery, Page<OperatorView>> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: ListOperatorsQuery): Promise<Page<OperatorView>> {
    return page(await models(this.ctx).operators(q.page));
  }
}

@QueryHandler(ListProposalsQuery)
export class ListProposalsHandler implements IQueryHandler<ListProposalsQuery, Page<ProposalView>> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: ListProposalsQuery): Promise<Page<ProposalView>> {
    return page(await models(this.ctx).proposals(q.page));
  }
}

@QueryHandler(GetAccountQuery)
export class GetAccountHandler implements IQueryHandler<GetAccountQuery, AccountView> {
  constructor(@Inject(API_CONTEXT) private readonly ctx: ApiContext) {}
  async execute(q: GetAccountQuery): Promise<AccountView> {
    const account = await models(this.ctx).account(q.key);
    if (!account) throw notFound(`account ${q.key}`);
    return account;
  }
}

export const READ_QUERY_HANDLERS = [
  GetVmHandler,
  ListVmsHandler,
  ListHostsHandler,
  ListOperatorsHandler,
  ListProposalsHandler,
  GetAccountHandler,
];
