import type {
  AccountView,
  HostView,
  OperatorView,
  Page,
  ProposalView,
  VmView,
} from '../../projections/read-models.js';
import type { PayloadStatus } from '../api/payloads.js';

export type { PayloadStatus };

/** A small client of the node HTTP API (DESIGN.md, Interfaces) with failover across several nodes. */

/**
 * code: the API's error code for a 4xx answer (final: no other node is tried), or
 * UNREACHABLE (no node answered), UNAVAILABLE/INTERNAL/HTTP_5xx (every node failed), TIMEOUT, BAD_RESPONSE.
 */
export class ApiClientError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status?: number,
    readonly url?: string,
    readonly details?: unknown,
  ) {
    super(message);
    this.name = 'ApiClientError';
  }

  /** A 4xx: the request itself is wrong, retrying elsewhere will not help. */
  get final(): boolean {
    return this.status !== undefined && this.status >= 400 && this.status < 500;
  }
}

export interface ClientOptions {
  /** Per request. Default 10 s. */
  readonly timeoutMs?: number;
  readonly fetch?: typeof fetch;
}

export interface WaitOptions {
  readonly timeoutMs: number;
  readonly intervalMs?: number;
  readonly onStatus?: (s: PayloadStatus) => void;
}

type Query = Record<string, string | number | undefined>;

interface Answer<T> {
  readonly body: T;
  readonly url: string;
}

export class DaggerClient {
  private readonly urls: string[];
  private readonly timeoutMs: number;
  private readonly fetchFn: typeof fetch;
  /** Index of the node that answered last: asked first next time. */
  private preferred = 0;

  constructor(urls: readonly string[], options: ClientOptions = {}) {
    if (urls.length === 0) throw new ApiClientError('BAD_REQUEST', 'give at least one API URL');
    this.urls = urls.map((u) => u.replace(/\/+$/, ''));
    for (const u of this.urls)
      if (!/^https?:\/\/[^/]+/.test(u))
        throw new ApiClientError('BAD_REQUEST', `not an http(s) URL: ${JSON.stringify(u)}`);
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.fetchFn = options.fetch ?? fetch;
  }

  /** POSTs the envelope (any JSON value) to the first node that takes it. */
  async submit(envelope: unknown): Promise<{ payloadId: string; url: string }> {
    const a = await this.request<{ payloadId?: unknown }>('POST', '/v1/payloads', JSON.stringify(envelope));
    if (typeof a.body.payloadId !== 'string')
      throw new ApiClientError('BAD_RESPONSE', `${a.url} answered without a payloadId`, undefined, a.url);
    return { payloadId: a.body.payloadId, url: a.url };
  }

  async payloadStatus(payloadId: string): Promise<PayloadStatus> {
    return (await this.request<PayloadStatus>('GET', `/v1/payloads/${encodeURIComponent(payloadId)}`)).body;
  }

  /** Polls until accepted or rejected. A 404 counts as not yet known (the node may be catching up). */
  async waitFor(payloadId: string, options: WaitOptions): Promise<PayloadStatus> {
    const deadline = Date.now() + options.timeoutMs;
    const interval = options.intervalMs ?? 250;
    let last: PayloadStatus | null = null;
    for (;;) {
      try {
        last = await this.payloadStatus(payloadId);
        options.onStatus?.(last);
        if (last.status === 'accepted' || last.status === 'rejected') return last;
      } catch (error) {
        if (!(error instanceof ApiClientError) || (error.final && error.code !== 'NOT_FOUND')) throw error;
      }
      if (Date.now() + interval > deadline)
        throw new ApiClientError(
          'TIMEOUT',
          `payload ${payloadId} not decided within ${Math.round(options.timeoutMs / 1000)} s (last status: ${last?.status ?? 'unknown'})`,
        );
      await new Promise((r) => setTimeout(r, interval));
    }
  }

  async vm(vmId: string): Promise<VmView> {
    return (await this.request<VmView>('GET', `/v1/vms/${encodeURIComponent(vmId)}`)).body;
  }

  async vms(
    query: { owner?: string; hostId?: string; limit?: number; after?: string } = {},
  ): Promise<Page<VmView>> {
    return (await this.request<Page<VmView>>('GET', '/v1/vms', undefined, query)).body;
  }

  async hosts(query: { limit?: number; after?: string } = {}): Promise<Page<HostView>> {
    return (await this.request<Page<HostView>>('GET', '/v1/hosts', undefined, query)).body;
  }

  async operators(query: { limit?: number; after?: string } = {}): Promise<Page<OperatorView>> {
    return (await this.request<Page<OperatorView>>('GET', '/v1/operators', undefined, query)).body;
  }

  async proposals(query: { limit?: number; after?: string } = {}): Promise<Page<ProposalView>> {
    return (await this.request<Page<ProposalView>>('GET', '/v1/operators/proposals', undefined, query)).body;
  }

  async account(key: string): Promise<AccountView> {
    return (await this.request<AccountView>('GET', `/v1/accounts/${encodeURIComponent(key)}`)).body;
  }

  /** Every page of a list, following `next`. */
  async all<T>(list: (q: { after?: string; limit?: number }) => Promise<Page<T>>, limit = 500): Promise<T[]> {
    const out: T[] = [];
    let after: string | undefined;
    do {
      const page = await list(after === undefined ? { limit } : { limit, after });
      out.push(...page.items);
      after = page.next;
    } while (after !== undefined);
    return out;
  }

  /** Tries each node from the preferred one; a connection error or a 5xx moves on, a 4xx is final. */
  private async request<T>(
    method: 'GET' | 'POST',
    path: string,
    body?: string,
    query?: Query,
  ): Promise<Answer<T>> {
    const qs = query
      ? Object.entries(query)
          .filter(([, v]) => v !== undefined)
          .map(([k, v]) => `${encodeURIComponent(k)}=${encodeURIComponent(String(v))}`)
          .join('&')
      : '';
    const failures: string[] = [];
    let lastServerError: ApiClientError | null = null;
    for (let n = 0; n < this.urls.length; n++) {
      const i = (this.preferred + n) % this.urls.length;
      const base = this.urls[i]!;
      const url = `${base}${path}${qs ? `?${qs}` : ''}`;
      let res: Response;
      try {
        res = await this.fetchFn(url, {
          method,
          headers: body !== undefined ? { 'content-type': 'application/json' } : {},
          ...(body !== undefined ? { body } : {}),
          signal: AbortSignal.timeout(this.timeoutMs),
        });
      } catch (error) {
        failures.push(`${base}: ${describeFetchError(error)}`);
        continue;
      }
      const text = await res.text().catch(() => '');
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (res.ok) {
        if (parsed === undefined)
          throw new ApiClientError(
            'BAD_RESPONSE',
            `${base} answered ${res.status} without JSON`,
            res.status,
            base,
          );
        this.preferred = i;
        return { body: parsed as T, url: base };
      }
      const err = (parsed as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)
        ?.error;
      const code = typeof err?.code === 'string' ? err.code : `HTTP_${res.status}`;
      const message = typeof err?.message === 'string' ? err.message : res.statusText || 'request failed';
      const failure = new ApiClientError(code, message, res.status, base, err?.details);
      if (res.status < 500) throw failure;
      lastServerError = failure;
      failures.push(`${base}: HTTP ${res.status} ${code}: ${message}`);
    }
    if (lastServerError && failures.length === 1) throw lastServerError;
    throw new ApiClientError(
      lastServerError?.code ?? 'UNREACHABLE',
      `no node took the request: ${failures.join('; ')}`,
      lastServerError?.status,
    );
  }
}

/** Duck-typed: errors from fetch may come from another realm (e.g. under a test VM). */
function describeFetchError(error: unknown): string {
  const e = error as {
    name?: unknown;
    message?: unknown;
    cause?: { code?: unknown; message?: unknown };
  } | null;
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return 'timed out';
  if (typeof e?.cause?.code === 'string') return e.cause.code;
  if (typeof e?.cause?.message === 'string') return e.cause.message;
  return typeof e?.message === 'string' ? e.message : String(error);
}
