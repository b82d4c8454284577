import { parentPort } from 'node:worker_threads';
import type { WorkerRequest, WorkerResponse } from '../bench/verify-protocol.js';
import { judgeItems } from './judge-items.js';

/** An audit worker for a VerifyPool: `verify` answers one strict verdict byte per signature item. */
const port = parentPort;
if (!port) throw new Error('audit-worker must run in a worker thread');

port.on('message', (req: WorkerRequest) => {
  try {
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
