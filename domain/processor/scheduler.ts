import type { VmSpec } from './events.js';
import { free, isCurrentMember, type ProcessorState } from './state.js';

/**
 * Placement rule (docs/processor.md): among hosts that are not draining, whose operator is a
 * current member, and whose free vCPUs, memory and disk all cover the spec, take the best fit:
 * least memory left after placing, then least vCPUs left, then least disk left, then the smallest
 * host id. The result does not depend on the order the hosts were stored in.
 */
export function placeVm(state: ProcessorState, spec: VmSpec, round: number): string | null {
  let best: string | null = null;
  let bm = 0;
  let bv = 0;
  let bd = 0;
  for (const [hostId, host] of state.hosts.unordered()) {
    if (host.draining || !isCurrentMember(state, host.operator, round)) continue;
    const room = free(host);
    const m = room.memoryMiB - spec.memoryMiB;
    const v = room.vcpus - spec.vcpus;
    const d = room.diskGiB - spec.diskGiB;
    if (m < 0 || v < 0 || d < 0) continue;
    if (
      best === null ||
      m < bm ||
      (m === bm && (v < bv || (v === bv && (d < bd || (d === bd && hostId < best)))))
    ) {
      best = hostId;
      bm = m;
      bv = v;
      bd = d;
    }
  }
  return best;
}

/** The most free room any eligible host has, per dimension: a VM larger in one of them fits nowhere. */
export function largestRoom(state: ProcessorState, round: number): VmSpec {
  let vcpus = -1;
  let memoryMiB = -1;
  let diskGiB = -1;
  for (const [, host] of state.hosts.unordered()) {
    if (host.draining || !isCurrentMember(state, host.operator, round)) continue;
    const room = free(host);
    vcpus = Math.max(vcpus, room.vcpus);
    memoryMiB = Math.max(memoryMiB, room.memoryMiB);
    diskGiB = Math.max(diskGiB, room.diskGiB);
  }
  return { vcpus, memoryMiB, diskGiB };
}
