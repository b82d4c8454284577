import canonicalize from 'canonicalize';
import { publicKeyOf, sha256, toHex } from '../../domain/crypto/index.js';
import type { MemberStake } from '../../domain/shadowgraph/membership.js';
import type { ReadModelsConfig } from '../../projections/index.js';

/** The genesis document: every node of a network starts from the same one, and its hash names the network. */
export interface Genesis {
  readonly version: 1;
  readonly network: string;
  readonly members: readonly GenesisMember[];
  readonly consensus: ConsensusSettings;
  /** Account quotas by signer key; unknown accounts get `defaultQuota` (used by the processor). */
  readonly accounts: readonly { readonly key: string; readonly maxVms: number; readonly maxVcpus: number }[];
  readonly defaultQuota: { readonly maxVms: number; readonly maxVcpus: number };
  /** Most stake one operator proposal may ask for. */
  readonly maxProposalStake: number;
  /** Hosts registered from the start, so a fresh network can schedule VMs. */
  readonly hosts: readonly GenesisHost[];
  readonly processor: ProcessorSettings;
}

export interface GenesisHost {
  readonly hostId: string;
  readonly operator: string;
  /** `none` until an operator points it at libvirt: VMs there are reported blocked with their plan. */
  readonly libvirtUri: string;
  readonly capacity: { readonly vcpus: number; readonly memoryMiB: number; readonly diskGiB: number };
}

export interface ProcessorSettings {
  /** Consensus time an operator has to report on a request before it fails with "operator timeout". */
  readonly operationDeadlineMs: number;
  /** Furthest a payload's expiresAt may lie ahead of consensus time. */
  readonly maxPayloadTtlMs: number;
}

export const DEFAULT_PROCESSOR: ProcessorSettings = {
  operationDeadlineMs: 300_000,
  maxPayloadTtlMs: 3_600_000,
};
export const DEFAULT_HOST_CAPACITY = { vcpus: 64, memoryMiB: 262_144, diskGiB: 4_096 } as const;

export interface GenesisMember extends MemberStake {
  readonly endpoint: string;
}

export interface ConsensusSettings {
  readonly coinRoundFrequency: number;
  readonly membershipDelay: number;
  readonly pruneHorizon: number;
  readonly heartbeatMs: { readonly active: number; readonly idle: number; readonly eager: number };
}

export const DEFAULT_CONSENSUS: ConsensusSettings = {
  coinRoundFrequency: 10,
  membershipDelay: 6,
  pruneHorizon: 32,
  heartbeatMs: { active: 100, idle: 1000, eager: 10 },
};

export class GenesisError extends Error {
  readonly code = 'BAD_GENESIS';
  constructor(message: string) {
    super(`BAD_GENESIS: ${message}`);
    this.name = 'GenesisError';
  }
}

/** RFC 8785 (JCS) encoding of the document, the bytes its hash covers. */
export function canonicalGenesis(genesis: Genesis): Uint8Array {
  return new TextEncoder().encode(canonicalize(genesis) ?? '');
}

export function genesisHash(genesis: Genesis): string {
  return toHex(sha256(canonicalGenesis(genesis)));
}

/** The prefix of PostgreSQL schemas and Kafka topics, so networks never collide. */
export function networkPrefix(genesis: Genesis): string {
  return `dagger_${genesisHash(genesis).slice(0, 12)}`;
}

const isInt = (v: unknown, min: number): v is number => Number.isSafeInteger(v) && (v as number) >= min;

export function parseGenesis(json: unknown): Genesis {
  const g = json as Partial<Genesis>;
  if (typeof g !== 'object' || g === null) throw new GenesisError('not an object');
  if (g.version !== 1) throw new GenesisError('version must be 1');
  if (typeof g.network !== 'string' || g.network.length === 0) throw new GenesisError('network name missing');
  if (!Array.isArray(g.members) || g.members.length === 0) throw new GenesisError('members missing');
  const keys = new Set<string>();
  for (const m of g.members) {
    if (typeof m.key !== 'string' || !/^[0-9a-f]{64}$/.test(m.key))
      throw new GenesisError(`bad member key ${m.key}`);
    if (!isInt(m.stake, 1)) throw new GenesisError(`bad stake for ${m.key}`);
    if (typeof m.endpoint !== 'string') throw new GenesisError(`bad endpoint for ${m.key}`);
    if (keys.has(m.key)) throw new GenesisError(`duplicate member ${m.key}`);
    keys.add(m.key);
  }
  const c = g.consensus;
  if (
    !c ||
    !isInt(c.coinRoundFrequency, 3) ||
    !isInt(c.membershipDelay, 1) ||
    !isInt(c.pruneHorizon, 4) ||
    !c.heartbeatMs ||
    !isInt(c.heartbeatMs.active, 1) ||
    !isInt(c.heartbeatMs.idle, 1) ||
    !isInt(c.heartbeatMs.eager, 0)
  )
    throw new GenesisError('bad consensus settings');
  if (!Array.isArray(g.accounts)) throw new GenesisError('accounts missing');
  if (!g.defaultQuota || !isInt(g.defaultQuota.maxVms, 0) || !isInt(g.defaultQuota.maxVcpus, 0))
    throw new GenesisError('bad default quota');
  if (!isInt(g.maxProposalStake, 1)) throw new GenesisError('bad maxProposalStake');
  if (!Array.isArray(g.hosts)) throw new GenesisError('hosts missing');
  const hostIds = new Set<string>();
  for (const h of g.hosts) {
    if (typeof h.hostId !== 'string' || !/^[a-z0-9][a-z0-9-]{0,62}$/.test(h.hostId) || hostIds.has(h.hostId))
      throw new GenesisError(`bad or duplicate host id ${String(h.hostId)}`);
    hostIds.add(h.hostId);
    if (!keys.has(h.operator)) throw new GenesisError(`host ${h.hostId}: operator is not a member`);
    if (typeof h.libvirtUri !== 'string' || h.libvirtUri.length === 0)
      throw new GenesisError(`host ${h.hostId}: libvirtUri missing`);
    const c = h.capacity;
    if (!c || !isInt(c.vcpus, 0) || !isInt(c.memoryMiB, 0) || !isInt(c.diskGiB, 0))
      throw new GenesisError(`host ${h.hostId}: bad capacity`);
  }
  const p = g.processor;
  if (!p || !isInt(p.operationDeadlineMs, 1) || !isInt(p.maxPayloadTtlMs, 1))
    throw new GenesisError('bad processor settings');
  return g as Genesis;
}

export interface NodeKey {
  readonly publicKey: string;
  readonly secretKey: string;
}

export function nodeKeyFromSecret(secret: Uint8Array): NodeKey {
  return { publicKey: toHex(publicKeyOf(secret)), secretKey: toHex(secret) };
}

/** A genesis for n operators with equal stake, keys from the given secrets. */
export function makeGenesis(
  network: string,
  secrets: readonly Uint8Array[],
  endpoint: (i: number) => string,
  consensus: ConsensusSettings = DEFAULT_CONSENSUS,
  libvirtUri = 'none',
): { genesis: Genesis; keys: NodeKey[] } {
  const keys = secrets.map(nodeKeyFromSecret);
  const genesis: Genesis = {
    version: 1,
    network,
    members: keys.map((k, i) => ({ key: k.publicKey, stake: 100, endpoint: endpoint(i) })),
    consensus,
    accounts: [],
    defaultQuota: { maxVms: 16, maxVcpus: 64 },
    maxProposalStake: 100,
    hosts: keys.map((k, i) => ({
      hostId: `host-${i}`,
      operator: k.publicKey,
      libvirtUri,
      capacity: DEFAULT_HOST_CAPACITY,
    })),
    processor: DEFAULT_PROCESSOR,
  };
  return { genesis: parseGenesis(JSON.parse(JSON.stringify(genesis))), keys };
}

/** What the read models take from genesis: members and hosts to seed, quotas to show. */
export function readModelsConfigOf(genesis: Genesis): ReadModelsConfig {
  return {
    genesisMembers: genesis.members,
    genesisHosts: genesis.hosts,
    accountQuotas: genesis.accounts,
    defaultQuota: genesis.defaultQuota,
  };
}
