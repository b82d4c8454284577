import type { VmSpec } from './events.js';
import { isCurrentMember, type ProcessorState } from './state.js';

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
  state.hosts.forEachUnordered((host, hostId) => {
    if (host.draining || !isCurrentMember(state, host.operator, round)) return;
    const { capacity: c, used: u } = host;
    const m = c.memoryMiB - u.memoryMiB - spec.memoryMiB;
    const v = c.vcpus - u.vcpus - spec.vcpus;
    const d = c.diskGiB - u.diskGiB - spec.diskGiB;
    if (m < 0 || v < 0 || d < 0) return;
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
  });
  return best;
}

/** The most free room any eligible host has, per dimension: a VM larger in one of them fits nowhere. */
export function largestRoom(state: ProcessorState, round: number): VmSpec {
  let vcpus = -1;
  let memoryMiB = -1;
  let diskGiB = -1;
  state.hosts.forEachUnordered((host) => {
    if (host.draining || !isCurrentMember(state, host.operator, round)) return;
    const { capacity: c, used: u } = host;
    vcpus = Math.max(vcpus, c.vcpus - u.vcpus);
    memoryMiB = Math.max(memoryMiB, c.memoryMiB - u.memoryMiB);
    diskGiB = Math.max(diskGiB, c.diskGiB - u.diskGiB);
  });
  return { vcpus, memoryMiB, diskGiB };
}
