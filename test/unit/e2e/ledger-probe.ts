import type { RunningNode } from '../../../src/node/launcher.js';
import { STREAMS } from '../../../src/node/node-runtime.js';

/** How many events by `creator` a node's `consensus` stream holds. */
export async function readEventsOfCreator(node: RunningNode, creator: string): Promise<number> {
  let n = 0;
  for await (const r of node.store.readStream(STREAMS.consensus)) {
    const record = JSON.parse(new TextDecoder().decode(r.data)) as { creator: string };
    if (record.creator === creator) n++;
  }
  return n;
}
