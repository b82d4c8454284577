import { parentPort } from 'node:worker_threads';
import { judgeBody } from './judge-pool.js';

/** A JudgePool worker: a batch of request bodies in, their verdicts out, in order. */
const port = parentPort;
if (!port) throw new Error('judge-worker must run in a worker thread');
port.on('message', (batch: Uint8Array[]) => port.postMessage(batch.map(judgeBody)));
