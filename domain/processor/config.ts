import { hex64, resourceId } from '../payloads/schemas.js';
import type { Capacity } from '../payloads/schemas.js';
import { MAX_TOTAL_STAKE } from '../shadowgraph/membership.js';
import { ProcessorError } from './errors.js';

/** What a network's genesis gives the processor. Every node of a network must use the same one. */
export interface ProcessorConfig {
  readonly members: readonly { readonly key: string; readonly stake: number; readonly endpoint: string }[];
  /** Hosts that exist from genesis; their operators must be genesis members. */
  readonly hosts: readonly {
    readonly hostId: string;
    readonly operator: string;
    readonly libvirtUri: string;
    readonly capacity: Capacity;
  }[];
  readonly accounts: readonly { readonly key: string; readonly maxVms: number; readonly maxVcpus: number }[];
  readonly defaultQuota: Quota;
  /** Most stake one operator proposal may ask for. */
  readonly maxProposalStake: number;
  /** k: a membership change decided in round r takes effect at round r + k. */
  readonly membershipDelay: number;
  /** Consensus time (µs) an operator has to report on an operation; default 300 s. */
  readonly operationDeadlineMicros?: number;
  /** The furthest `expiresAt` may lie beyond the consensus time (ms); default 1 h. */
  readonly maxPayloadTtlMs?: number;
}

export interface Quota {
  readonly maxVms: number;
  readonly maxVcpus: number;
}

/** A validated config with defaults filled in. */
export interface ResolvedConfig extends Required<Omit<ProcessorConfig, 'accounts'>> {
  readonly accounts: ReadonlyMap<string, Quota>;
}

export const DEFAULT_OPERATION_DEADLINE_MICROS = 300_000_000;
export const DEFAULT_MAX_PAYLOAD_TTL_MS = 3_600_000;

const bad = (message: string): never => {
  throw new ProcessorError('BAD_CONFIG', message);
};
const checkInt = (name: string, v: unknown, min: number, max = Number.MAX_SAFE_INTEGER): number => {
  if (!Number.isSafeInteger(v) || (v as number) < min || (v as number) > max)
    bad(`${name} must be an integer in [${min}, ${max}]`);
  return v as number;
};
const checkQuota = (name: string, q: Quota): Quota => ({
  maxVms: checkInt(`${name}.maxVms`, q?.maxVms, 0),
  maxVcpus: checkInt(`${name}.maxVcpus`, q?.maxVcpus, 0),
});

/** Validates a config; throws ProcessorError('BAD_CONFIG'). Idempotent on a resolved config. */
export function resolveConfig(config: ProcessorConfig | ResolvedConfig): ResolvedConfig {
  const members = config.members ?? [];
  if (members.length === 0) bad('there must be at least one member');
  const keys = new Set<string>();
  let total = 0;
  for (const m of members) {
    if (!hex64.safeParse(m.key).success) bad(`member key ${String(m.key)} must be 64 lowercase hex`);
    if (keys.has(m.key)) bad(`duplicate member ${m.key}`);
    keys.add(m.key);
    total += checkInt(`stake of ${m.key}`, m.stake, 1);
    if (typeof m.endpoint !== 'string') bad(`endpoint of ${m.key} must be a string`);
  }
  if (total > MAX_TOTAL_STAKE) bad('total stake too large');
  const hostIds = new Set<string>();
  for (const h of config.hosts ?? []) {
    if (!resourceId.safeParse(h.hostId).success) bad(`host id ${String(h.hostId)} is not a valid id`);
    if (hostIds.has(h.hostId)) bad(`duplicate host ${h.hostId}`);
    hostIds.add(h.hostId);
    if (!keys.has(h.operator)) bad(`operator of host ${h.hostId} is not a genesis member`);
    if (typeof h.libvirtUri !== 'string') bad(`libvirtUri of host ${h.hostId} must be a string`);
    checkInt(`${h.hostId}.capacity.vcpus`, h.capacity?.vcpus, 0);
    checkInt(`${h.hostId}.capacity.memoryMiB`, h.capacity?.memoryMiB, 0);
    checkInt(`${h.hostId}.capacity.diskGiB`, h.capacity?.diskGiB, 0);
  }
  const accounts = new Map<string, Quota>();
  const given = config.accounts;
  const entries: [string, Quota][] =
    given instanceof Map
      ? [...given.entries()]
      : (given as ProcessorConfig['accounts']).map((a) => [a.key, a]);
  for (const [key, quota] of entries) {
    if (accounts.has(key)) bad(`duplicate account ${key}`);
    accounts.set(key, checkQuota(`account ${key}`, quota));
  }
  return {
    members: members.map((m) => ({ key: m.key, stake: m.stake, endpoint: m.endpoint })),
    hosts: (config.hosts ?? []).map((h) => ({
      hostId: h.hostId,
      operator: h.operator,
      libvirtUri: h.libvirtUri,
      capacity: { vcpus: h.capacity.vcpus, memoryMiB: h.capacity.memoryMiB, diskGiB: h.capacity.diskGiB },
    })),
    accounts,
    defaultQuota: checkQuota('defaultQuota', config.defaultQuota),
    maxProposalStake: checkInt('maxProposalStake', config.maxProposalStake, 1),
    membershipDelay: checkInt('membershipDelay', config.membershipDelay, 0),
    operationDeadlineMicros: checkInt(
      'operationDeadlineMicros',
      config.operationDeadlineMicros ?? DEFAULT_OPERATION_DEADLINE_MICROS,
      1,
    ),
    maxPayloadTtlMs: checkInt('maxPayloadTtlMs', config.maxPayloadTtlMs ?? DEFAULT_MAX_PAYLOAD_TTL_MS, 1),
  };
}

export function quotaOf(config: ResolvedConfig, key: string): Quota {
  return config.accounts.get(key) ?? config.defaultQuota;
}
