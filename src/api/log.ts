import type { ApiLogger } from './ports.js';

/** One JSON object per line on stderr. */
export const jsonLineLogger: ApiLogger = (entry) => {
  process.stderr.write(`${JSON.stringify({ time: new Date().toISOString(), ...entry })}\n`);
};
