import { parentPort } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from '../bench/verify-protocol.js';
import { type AuditAnswer, type AuditJob, judgeItems, judgeJob } from './judge-items.js';

/**
 * An audit worker for a VerifyPool (judge-items.ts): an `audit` job answers event verdicts and
 * opened payloads; `verify` answers one verdict byte per signature item (the bench's bound).
 */
const port = parentPort;
if (!port) throw new Error('audit-worker must run in a worker thread');

port.on('message', (req: WorkerRequest | (AuditJob & { readonly id: number })) => {
  try {
    if (req.op === 'audit') {
      const answer: AuditAnswer = { op: 'audit', id: req.id, ...judgeJob(req) };
      port.postMessage(answer, [answer.verdicts.buffer as ArrayBuffer]);
      return;
    }
    if (req.op !== 'verify') throw new Error(`audit-worker does not ${req.op}`);
    const ok = judgeItems(req.data, req.offsets);
    port.postMessage({ op: 'verify', id: req.id, ok } satisfies WorkerResponse, [ok.buffer as ArrayBuffer]);
  } catch (err) {
    const res: WorkerResponse = {
      op: 'error',
      id: req.id,
      message: err instanceof Error ? err.message : String(err),
    };
    port.postMessage(res);
  }
});
