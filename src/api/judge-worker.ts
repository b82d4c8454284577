import { parentPort } from 'node:worker_threads';
import { type PackedBytes, transferOf, unpackBytes } from '../shared/packed-bytes.js';
import { judgeBody, packVerdicts } from './judge-pool.js';

/** A JudgePool worker: a batch of request bodies in, their verdicts out, in order. */
const port = parentPort;
if (!port) throw new Error('judge-worker must run in a worker thread');
port.on('message', (batch: PackedBytes) => {
  const verdicts = packVerdicts(unpackBytes(batch).map(judgeBody));
  port.postMessage(verdicts, transferOf(verdicts.bytes));
});
