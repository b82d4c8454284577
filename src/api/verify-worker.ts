import { parentPort } from 'node:worker_threads';
import { createStrictVerifier } from '../../domain/crypto/index.js';
import { verifyBatch } from './verify-pool.js';

/** A payload-signature worker of VerifyPool: one batch in, one result array out, in order. */
const verifier = createStrictVerifier();
const port = parentPort;
if (!port) throw new Error('verify-worker must run in a worker thread');
port.on('message', (batch: Uint8Array) => {
  const ok = verifyBatch(batch, verifier);
  port.postMessage(ok, [ok.buffer as ArrayBuffer]);
});
