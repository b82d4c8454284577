import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript module (through tsx), as the compiled .js would run in
 * production: ts-jest compiles only the test's own thread.
 */
export function tsWorker(modulePath: string, workerData: unknown): Worker {
  const url = pathToFileURL(resolve(modulePath)).href;
  const parent = pathToFileURL(resolve('package.json')).href;
  const code = `import('tsx/esm/api').then(({ tsImport }) => tsImport(${JSON.stringify(url)}, ${JSON.stringify(parent)}))`;
  return new Worker(code, { eval: true, workerData });
}
