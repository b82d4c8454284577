/**
 * Opening the payloads of a real store on one core:
 * `npx tsx test/unit/payloads/open-store.bench.ts [events.sqlite]` (default: the audit bench's
 * node 0). Reads every ShadowGraph event's payloads, then opens them all with the signature check
 * answered yes, 7 passes; prints the first (cold, as the audit opens each once) and the best pass.
 * The store is opened read-only.
 */
import Database from 'better-sqlite3';
import { sha256 } from '../../../domain/crypto/index.js';
import { type EnvelopePorts, openPayloadBytes } from '../../../domain/payloads/index.js';
import { decodeEvent } from '../../../domain/shadowgraph/event.js';

const file = process.argv[2] ?? '/tmp/audit-bench-big/node-0/events.sqlite';
const db = new Database(file, { readonly: true, fileMustExist: true });
const payloads: Uint8Array[] = [];
const rows = db.prepare("SELECT data FROM events WHERE type = 'ShadowGraphEvent'").iterate() as Iterable<{
  data: Buffer;
}>;
for (const row of rows) payloads.push(...decodeEvent(new Uint8Array(row.data), sha256).body.payloads);
db.close();

const yes: EnvelopePorts = { verify: { verify: () => true }, hash: sha256 };
const passes: number[] = [];
let opened = 0;
for (let pass = 0; pass < 7; pass++) {
  const cpu = process.cpuUsage();
  opened = 0;
  for (const p of payloads) if (openPayloadBytes(p, yes).ok) opened++;
  const used = process.cpuUsage(cpu);
  passes.push((used.user + used.system) / 1000);
}
const best = Math.min(...passes);
console.log(
  `${payloads.length} payloads, ${opened} opened: first pass ${passes[0]!.toFixed(0)} ms CPU, ` +
    `best ${best.toFixed(0)} ms = ${((best * 1000) / payloads.length).toFixed(2)} us each`,
);
