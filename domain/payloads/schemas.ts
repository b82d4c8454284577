import { z } from 'zod';

/**
 * The request types developers and operators sign. One schema per type, strict (no extra
 * fields), integers only. The API judges requests with these before they enter the ledger, and
 * the processor judges ordered payloads with the same ones, because a Byzantine node can put
 * any bytes into its events.
 */

export const LIMITS = {
  /** The canonical envelope's bytes: what a ShadowGraph event carries. */
  envelopeBytes: 32 * 1024,
  userDataBytes: 16 * 1024,
  sshKeys: 16,
  sshKeyChars: 8 * 1024,
  addresses: 16,
  detailChars: 1024,
  endpointChars: 256,
  libvirtUriChars: 512,
} as const;

export const hex64 = z.string().regex(/^[0-9a-f]{64}$/, 'must be 64 lowercase hex characters');
export const hex128 = z.string().regex(/^[0-9a-f]{128}$/, 'must be 128 lowercase hex characters');
/** DNS-label-like ids: they end up in libvirt domain names (`dagger-<vmId>`). */
export const resourceId = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9-]{0,62}$/,
    'must be 1-63 characters of a-z, 0-9 and -, starting with a letter or digit',
  );
const int = (min: number, max: number) => z.number().int().min(min).max(max);
/** UTF-8 length without allocating; lone surrogates count 3, as TextEncoder would encode U+FFFD. */
function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

export const VM_STATUSES = [
  'requested',
  'scheduled',
  'provisioning',
  'running',
  'stopped',
  'destroying',
  'destroyed',
  'blocked',
  'failed',
] as const;
export type VmStatus = (typeof VM_STATUSES)[number];

/** What an operator may report about the request it answers. */
export const REPORTED_STATUSES = [
  'provisioning',
  'running',
  'stopped',
  'blocked',
  'failed',
  'destroyed',
] as const;
export type ReportedStatus = (typeof REPORTED_STATUSES)[number];

export const vmSize = {
  vcpus: int(1, 128),
  memoryMiB: int(64, 1_048_576),
  diskGiB: int(1, 65_536),
};

export const capacity = z.strictObject({
  vcpus: int(0, 1_000_000),
  memoryMiB: int(0, 1_000_000_000),
  diskGiB: int(0, 1_000_000_000),
});
export type Capacity = z.infer<typeof capacity>;

const base = {
  /** Makes two otherwise equal requests distinct; replay protection is by payload id and expiry. */
  nonce: z.string().regex(/^[A-Za-z0-9_-]{8,64}$/, 'must be 8-64 characters of A-Z a-z 0-9 _ -'),
  /** Milliseconds since the epoch, judged against consensus time, never a local clock. */
  expiresAt: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER),
};

export const vmCreate = z.strictObject({
  type: z.literal('vm.create'),
  ...base,
  vmId: resourceId.optional(),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/, 'must be 1-63 characters of A-Z a-z 0-9 _ . -'),
  ...vmSize,
  image: z
    .string()
    .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, 'must be 1-63 characters of a-z 0-9 . _ -')
    .default('blank'),
  sshKeys: z
    .array(
      z
        .string()
        .min(1)
        .max(LIMITS.sshKeyChars)
        .regex(/^[^\n\r]+$/, 'must be one line'),
    )
    .max(LIMITS.sshKeys)
    .default([]),
  userData: z
    .string()
    .refine(
      (s) => utf8Length(s) <= LIMITS.userDataBytes,
      `must be at most ${LIMITS.userDataBytes} UTF-8 bytes`,
    )
    .optional(),
});

const vmTarget = { ...base, vmId: resourceId };

export const vmResize = z
  .strictObject({
    type: z.literal('vm.resize'),
    ...vmTarget,
    vcpus: vmSize.vcpus.optional(),
    memoryMiB: vmSize.memoryMiB.optional(),
    diskGiB: vmSize.diskGiB.optional(),
  })
  .refine((p) => p.vcpus !== undefined || p.memoryMiB !== undefined || p.diskGiB !== undefined, {
    message: 'give at least one of vcpus, memoryMiB, diskGiB',
  });

export const vmStop = z.strictObject({ type: z.literal('vm.stop'), ...vmTarget });
export const vmStart = z.strictObject({ type: z.literal('vm.start'), ...vmTarget });
export const vmDestroy = z.strictObject({ type: z.literal('vm.destroy'), ...vmTarget });

export const vmReport = z.strictObject({
  type: z.literal('vm.report'),
  ...vmTarget,
  /** The payload id of the request this report answers. */
  requestId: hex64,
  status: z.enum(REPORTED_STATUSES),
  detail: z.string().max(LIMITS.detailChars).default(''),
  addresses: z.array(z.string().min(1).max(64)).max(LIMITS.addresses).default([]),
});

export const hostRegister = z.strictObject({
  type: z.literal('host.register'),
  ...base,
  hostId: resourceId,
  libvirtUri: z.string().min(1).max(LIMITS.libvirtUriChars),
  capacity,
});

export const hostUpdate = z
  .strictObject({
    type: z.literal('host.update'),
    ...base,
    hostId: resourceId,
    libvirtUri: z.string().min(1).max(LIMITS.libvirtUriChars).optional(),
    capacity: capacity.optional(),
  })
  .refine((p) => p.libvirtUri !== undefined || p.capacity !== undefined, {
    message: 'give libvirtUri or capacity',
  });

export const hostDrain = z.strictObject({ type: z.literal('host.drain'), ...base, hostId: resourceId });

export const operatorPropose = z.strictObject({
  type: z.literal('operator.propose'),
  ...base,
  operatorKey: hex64,
  stake: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  endpoint: z.string().min(1).max(LIMITS.endpointChars),
});

export const operatorVote = z.strictObject({
  type: z.literal('operator.vote'),
  ...base,
  proposalId: hex64,
  approve: z.boolean(),
});

/** Proposes removing an operator; like admission it takes effect on a 2/3 vote. */
export const operatorRemove = z.strictObject({
  type: z.literal('operator.remove'),
  ...base,
  operatorKey: hex64,
});

export const PAYLOAD_SCHEMAS = {
  'vm.create': vmCreate,
  'vm.resize': vmResize,
  'vm.stop': vmStop,
  'vm.start': vmStart,
  'vm.destroy': vmDestroy,
  'vm.report': vmReport,
  'host.register': hostRegister,
  'host.update': hostUpdate,
  'host.drain': hostDrain,
  'operator.propose': operatorPropose,
  'operator.vote': operatorVote,
  'operator.remove': operatorRemove,
} as const;

export type PayloadType = keyof typeof PAYLOAD_SCHEMAS;
export const PAYLOAD_TYPES = Object.keys(PAYLOAD_SCHEMAS) as PayloadType[];

export type VmCreate = z.output<typeof vmCreate>;
export type VmResize = z.output<typeof vmResize>;
export type VmStop = z.output<typeof vmStop>;
export type VmStart = z.output<typeof vmStart>;
export type VmDestroy = z.output<typeof vmDestroy>;
export type VmReport = z.output<typeof vmReport>;
export type HostRegister = z.output<typeof hostRegister>;
export type HostUpdate = z.output<typeof hostUpdate>;
export type HostDrain = z.output<typeof hostDrain>;
export type OperatorPropose = z.output<typeof operatorPropose>;
export type OperatorVote = z.output<typeof operatorVote>;
export type OperatorRemove = z.output<typeof operatorRemove>;

/** A validated payload, defaults filled in. */
export type Payload =
  | VmCreate
  | VmResize
  | VmStop
  | VmStart
  | VmDestroy
  | VmReport
  | HostRegister
  | HostUpdate
  | HostDrain
  | OperatorPropose
  | OperatorVote
  | OperatorRemove;

/** The payload as a client writes it (defaults may be left out). */
export type PayloadInput = z.input<(typeof PAYLOAD_SCHEMAS)[PayloadType]>;

/**
 * The envelope around a payload. Its output keeps only the payload's type (no copy of the other
 * fields): the payload's own schema judges the payload as given.
 */
export const envelopeShape = z.strictObject({
  payload: z.object({ type: z.string() }),
  signer: hex64,
  signature: hex128,
});
