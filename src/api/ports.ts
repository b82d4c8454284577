import type { ReadModelQueries } from '../../projections/read-models.js';

/**
 * What the API needs of the node, as ports the node wires in `createNodeApp(runtime, options)`.
 * Every port is optional: a route whose port is missing answers 503 UNAVAILABLE.
 */

/** One judged envelope: its id (hex sha256 of `bytes`) and its canonical JCS bytes. */
export interface IntakeItem {
  readonly payloadId: string;
  readonly bytes: Uint8Array;
}

/**
 * The durable outbox of envelopes this node accepted (e.g. stream `intake-<self>`).
 * - `append` resolves only once every item is durable, and stores each payloadId at most once:
 *   items already stored are skipped (idempotent). All or nothing; it rejects when it cannot.
 * - `status` says whether the outbox holds a payload ('pending') or not (null).
 * The owner re-publishes what stays pending (after a restart or a failed publish); the API does not.
 */
export interface IntakeOutbox {
  append(items: readonly IntakeItem[]): Promise<void>;
  status(payloadId: string): Promise<'pending' | null>;
}

/** Puts durable envelopes on the comms bus (the node's `accept`); at least once, order free. */
export interface IntakePublisher {
  publish(items: readonly IntakeItem[]): Promise<void>;
}

/** Where the node has put a payload into consensus order but the read models do not show it yet. */
export interface OrderedPayload {
  readonly round: number;
  readonly consensusIndex: number;
}

/** Answers whether the node has ordered a payload that the processor has not yet applied. */
export interface PayloadOrderLookup {
  ordered(payloadId: string): Promise<OrderedPayload | null> | OrderedPayload | null;
}

/**
 * Gauges read at each scrape of /metrics.
 * - consensusSeconds: age in seconds of the oldest payload accepted here and not yet ordered (0 if none).
 * - projectionRecords: ledger records written and not yet reflected by the read models.
 */
export interface LagProbes {
  readonly consensusSeconds?: () => number | Promise<number>;
  readonly projectionRecords?: () => number | Promise<number>;
}

/** One structured log line (written as JSON); `level` and `msg` always present. */
export type ApiLogger = (
  entry: { level: 'info' | 'warn' | 'error'; msg: string } & Record<string, unknown>,
) => void;

export interface IntakeTuning {
  /** Longest wait before a batch goes to the outbox. Default 2 ms. */
  readonly windowMs?: number;
  /** A batch goes at once when this many are queued. Default 500. */
  readonly maxBatch?: number;
  /** Beyond this many queued (not yet appending), POSTs get 503 UNAVAILABLE. Default 20,000. */
  readonly maxQueued?: number;
  /** Ids recently made durable, answered without touching the outbox. Default 100,000. */
  readonly rememberIds?: number;
}

export interface NodeAppOptions {
  readonly intake?: {
    readonly outbox: IntakeOutbox;
    readonly publisher: IntakePublisher;
    readonly tuning?: IntakeTuning;
  };
  readonly readModels?: ReadModelQueries;
  readonly orderLookup?: PayloadOrderLookup;
  readonly lag?: LagProbes;
  /** Defaults to JSON lines on stderr. */
  readonly log?: ApiLogger;
  /** HTTP body limit in bytes for POST /v1/payloads. Default 64 KiB. */
  readonly bodyLimitBytes?: number;
  /** Serve /docs and /docs-json. Default true. */
  readonly openApi?: boolean;
  /** Worker threads that judge request bodies (JSON, schema, signature; 0: on the event loop). Default 1. */
  readonly judgeThreads?: number;
  /** Serve POST /v1/payloads off node:http ahead of Express (same command and errors). Default true. */
  readonly fastIntake?: boolean;
}
