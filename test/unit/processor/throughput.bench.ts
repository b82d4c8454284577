/**
 * Processor throughput on one core: `npx tsx test/unit/processor/throughput.bench.ts [payloads]`.
 * Half vm.create from 200 developer keys, half the operator's vm.report "running" for them, in
 * rounds of 2,000 payloads (events of 50). Prints payloads/s for the whole path (open + verify +
 * decide + evolve + roots) and for the stateful part alone (payloads opened beforehand, as the
 * `open` port allows).
 */
import { sha256, signerFromSecretKey, strictVerifier, toHex } from '../../../domain/crypto/index.js';
import { type Opened, openPayloadBytes, signPayload } from '../../../domain/payloads/index.js';
import {
  PayloadProcessor,
  type ProcessorConfig,
  type OrderedPayloads,
} from '../../../domain/processor/index.js';

const N = Number(process.argv[2] ?? 20_000);
const ROUND = 2_000;
const PER_EVENT = 50;
const T0 = 1_800_000_000_000_000;
const seed = (s: string) => sha256(new TextEncoder().encode(`bench:${s}`));
const operator = signerFromSecretKey(seed('operator'));
const opKey = toHex(operator.publicKey);
const devs = Array.from({ length: 200 }, (_, i) => signerFromSecretKey(seed(`dev${i}`)));
const config: ProcessorConfig = {
  members: [{ key: opKey, stake: 1, endpoint: 'e' }],
  hosts: Array.from({ length: 200 }, (_, i) => ({
    hostId: `h${String(i).padStart(3, '0')}`,
    operator: opKey,
    libvirtUri: 'qemu:///system',
    capacity: { vcpus: 100_000, memoryMiB: 100_000_000, diskGiB: 10_000_000 },
  })),
  accounts: devs.map((d) => ({ key: toHex(d.publicKey), maxVms: 1_000_000, maxVcpus: 1_000_000 })),
  defaultQuota: { maxVms: 0, maxVcpus: 0 },
  maxProposalStake: 1,
  membershipDelay: 6,
};

const t = performance.now();
const creates = Array.from({ length: N / 2 }, (_, i) =>
  signPayload(
    {
      type: 'vm.create',
      nonce: `n-${i}-create`,
      expiresAt: T0 / 1000 + 600_000,
      name: 'w',
      vcpus: 1,
      memoryMiB: 512,
      diskGiB: 1,
    },
    devs[i % devs.length]!,
    sha256,
  ),
);
const reports = creates.map((c, i) =>
  signPayload(
    {
      type: 'vm.report',
      nonce: `n-${i}-report`,
      expiresAt: T0 / 1000 + 600_000,
      vmId: `vm-${c.payloadId.slice(0, 16)}`,
      requestId: c.payloadId,
      status: 'running',
      addresses: ['10.0.0.1'],
    },
    operator,
    sha256,
  ),
);
const all = [...creates, ...reports].map((s) => s.bytes);
console.log(`signed ${all.length} payloads in ${Math.round(performance.now() - t)} ms`);

function rounds(): { round: number; events: OrderedPayloads[] }[] {
  const out: { round: number; events: OrderedPayloads[] }[] = [];
  let index = 0;
  for (let r = 0; r * ROUND < all.length; r++) {
    const events: OrderedPayloads[] = [];
    for (let e = r * ROUND; e < Math.min(all.length, (r + 1) * ROUND); e += PER_EVENT) {
      index++;
      events.push({
        consensusIndex: index,
        consensusTimestamp: T0 + index,
        payloads: all.slice(e, e + PER_EVENT),
      });
    }
    out.push({ round: r + 1, events });
  }
  return out;
}

const rate = (ms: number) => Math.round((all.length / ms) * 1000);

function run(label: string, p: PayloadProcessor): string {
  const input = rounds();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let accepted = 0;
  let root = '';
  for (const { round, events } of input) {
    const outcome = p.processRound(round, events);
    accepted += outcome.records.filter((r) => r.event.type === 'PayloadAccepted').length;
    root = outcome.root;
  }
  const ms = performance.now() - start;
  const used = process.cpuUsage(cpu);
  const cpuMs = (used.user + used.system) / 1000;
  console.log(
    `${label}: ${all.length} payloads (${accepted} accepted) in ${Math.round(ms)} ms wall = ${rate(ms)} payloads/s; ` +
      `${Math.round(cpuMs)} ms CPU = ${rate(cpuMs)} payloads/s per CPU-second`,
  );
  return root;
}

const ports = { verify: strictVerifier, hash: sha256 };
let start = performance.now();
let cpu = process.cpuUsage();
const opened = new Map<Uint8Array, Opened>(all.map((b) => [b, openPayloadBytes(b, ports)]));
let ms = performance.now() - start;
let used = process.cpuUsage(cpu);
console.log(
  `open alone (parse, schema, JCS, strict verify, sha256): ${rate(ms)} payloads/s wall, ${rate((used.user + used.system) / 1000)} per CPU-second`,
);
const rootA = run(
  'stateful part (pre-opened)',
  new PayloadProcessor(config, { ...ports, open: (b) => opened.get(b)! }),
);
if (process.env.STATEFUL_ONLY) process.exit(0);
const rootB = run('whole path (strict verify)  ', new PayloadProcessor(config, ports));
start = performance.now();
cpu = process.cpuUsage();
const p = new PayloadProcessor(config, { ...ports, open: (b) => opened.get(b)! });
for (const { round, events } of rounds()) p.processRound(round, events);
ms = performance.now() - start;
used = process.cpuUsage(cpu);
console.log(
  `stateful part, second run: ${rate(ms)} payloads/s wall, ${rate((used.user + used.system) / 1000)} per CPU-second`,
);
if (rootA !== rootB || rootA !== p.root()) throw new Error('roots differ');
console.log(`root ${rootA}`);
