/**
 * Opening payloads on one core: `npx tsx test/unit/payloads/open.bench.ts [envelopes] [passes]`.
 * A mix of vm.create, vm.report, host.register and operator.vote envelopes from 50 keys. Prints
 * µs per envelope (CPU) for openPayloadBytes (ledger bytes) and judgeEnvelope (a parsed API body),
 * with the signature check answered by a verifier that says yes, so the figures are the work
 * besides the signature; and once with the strict verifier for scale.
 */
import { sha256, signerFromSecretKey, strictVerifier, toHex } from '../../../domain/crypto/index.js';
import {
  type EnvelopePorts,
  judgeEnvelope,
  openPayloadBytes,
  signPayload,
} from '../../../domain/payloads/index.js';

const N = Number(process.argv[2] ?? 4_000);
const PASSES = Number(process.argv[3] ?? 5);
const seed = (s: string) => sha256(new TextEncoder().encode(`open-bench:${s}`));
const keys = Array.from({ length: 50 }, (_, i) => signerFromSecretKey(seed(`k${i}`)));
const T = 1_800_000_000_000;

function payloadOf(i: number): Record<string, unknown> & { type: string } {
  const nonce = `nonce-${String(i).padStart(6, '0')}`;
  switch (i % 4) {
    case 0:
      return {
        type: 'vm.create',
        nonce,
        expiresAt: T,
        name: `web-${i}`,
        vcpus: 2,
        memoryMiB: 2048,
        diskGiB: 20,
      };
    case 1:
      return {
        type: 'vm.report',
        nonce,
        expiresAt: T,
        vmId: `vm-${i}`,
        requestId: toHex(seed(`r${i}`)),
        status: 'running',
        addresses: ['10.0.0.1'],
      };
    case 2:
      return {
        type: 'host.register',
        nonce,
        expiresAt: T,
        hostId: `h-${i}`,
        libvirtUri: 'qemu+ssh://root@10.1.2.3/system',
        capacity: { vcpus: 64, memoryMiB: 262_144, diskGiB: 4_000 },
      };
    default:
      return { type: 'operator.vote', nonce, expiresAt: T, proposalId: toHex(seed(`p${i}`)), approve: true };
  }
}

const signed = Array.from({ length: N }, (_, i) => signPayload(payloadOf(i), keys[i % keys.length]!, sha256));
const ledgerBytes = signed.map((s) => s.bytes);
const bodies = signed.map((s) => JSON.stringify(s.envelope));
const yes: EnvelopePorts = { verify: { verify: () => true }, hash: sha256 };
const strict: EnvelopePorts = { verify: strictVerifier, hash: sha256 };

function measure(label: string, once: () => number): void {
  let best = Infinity;
  for (let p = 0; p < PASSES; p++) {
    const cpu = process.cpuUsage();
    const ok = once();
    const used = process.cpuUsage(cpu);
    if (ok !== N) throw new Error(`${label}: ${ok} of ${N} opened`);
    best = Math.min(best, (used.user + used.system) / N);
  }
  console.log(`${label}: ${best.toFixed(2)} µs CPU per envelope (best of ${PASSES} passes of ${N})`);
}

measure('openPayloadBytes, no signature check', () => {
  let ok = 0;
  for (const b of ledgerBytes) if (openPayloadBytes(b, yes).ok) ok++;
  return ok;
});
measure('judgeEnvelope (JSON.parse + judge), no signature check', () => {
  let ok = 0;
  for (const t of bodies) if (judgeEnvelope(JSON.parse(t), yes).ok) ok++;
  return ok;
});
measure('openPayloadBytes, strict verifier', () => {
  let ok = 0;
  for (const b of ledgerBytes) if (openPayloadBytes(b, strict).ok) ok++;
  return ok;
});
