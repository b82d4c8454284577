import { parentPort } from 'node:worker_threads';
import { createStrictVerifier, signerFromSecretKey } from '../../domain/crypto/index.js';
import { BENCH_ENVELOPE_BYTES, encodeBenchEnvelope, verifyBenchEnvelope } from './envelope.js';
import type { WorkerRequest, WorkerResponse } from './verify-protocol.js';

/**
 * A verification worker. It holds no verdicts: every envelope of every job is verified again, so
 * each node pays for its own verification. (The strict verifier keeps a per-key cache of the parsed
 * public key only, as every node's own verifier would.)
 */
const verifier = createStrictVerifier();
const port = parentPort;
if (!port) throw new Error('verify-worker must run in a worker thread');

port.on('message', (req: WorkerRequest) => {
  try {
    if (req.op === 'verify') {
      const count = req.offsets.length - 1;
      const ok = new Uint8Array(count);
      for (let i = 0; i < count; i++)
        ok[i] = verifyBenchEnvelope(req.data.subarray(req.offsets[i]!, req.offsets[i + 1]!), verifier)
          ? 1
          : 0;
      const res: WorkerResponse = { op: 'verify', id: req.id, ok };
      port.postMessage(res, [ok.buffer]);
    } else {
      const signer = signerFromSecretKey(req.secretKey);
      const data = new Uint8Array(req.count * BENCH_ENVELOPE_BYTES);
      for (let i = 0; i < req.count; i++)
        encodeBenchEnvelope(signer, req.firstSeq + i, data, i * BENCH_ENVELOPE_BYTES);
      const res: WorkerResponse = { op: 'sign', id: req.id, data };
      port.postMessage(res, [data.buffer]);
    }
  } catch (err) {
    const res: WorkerResponse = {
      op: 'error',
      id: req.id,
      message: err instanceof Error ? err.message : String(err),
    };
    port.postMessage(res);
  }
});
