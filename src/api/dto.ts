import { ApiProperty, ApiPropertyOptional } from '@nestjs/swagger';
import { PAYLOAD_TYPES, VM_STATUSES } from '../../domain/payloads/schemas.js';

/**
 * OpenAPI shapes of the wire format. The routes return the read models' views as they are; these
 * classes only describe them for /docs. Payload schemas come from the zod schemas (see openapi.ts).
 */

export const payloadSchemaName = (type: string): string =>
  `${type
    .split('.')
    .map((s) => s[0]!.toUpperCase() + s.slice(1))
    .join('')}Payload`;

const HEX64 = '^[0-9a-f]{64}$';

export class EnvelopeDto {
  @ApiProperty({
    type: Object,
    description: 'The signed request; `type` selects the schema. The signature covers its JCS encoding.',
    oneOf: PAYLOAD_TYPES.map((t) => ({ $ref: `#/components/schemas/${payloadSchemaName(t)}` })),
  })
  payload!: Record<string, unknown>;

  @ApiProperty({ type: String, description: 'ed25519 public key, 64 lowercase hex', pattern: HEX64 })
  signer!: string;

  @ApiProperty({
    type: String,
    description: 'ed25519 signature (strict RFC 8032) over "DAGGER payload v1\\n" + JCS(payload), 128 hex',
    pattern: '^[0-9a-f]{128}$',
  })
  signature!: string;
}

export class PayloadAcceptedDto {
  @ApiProperty({ type: String, description: 'hex sha256 of the canonical (JCS) envelope', pattern: HEX64 })
  payloadId!: string;
}

export class PayloadStatusDto {
  @ApiProperty({ type: String, enum: ['pending', 'ordered', 'accepted', 'rejected'] })
  status!: string;
  @ApiPropertyOptional({ type: String, description: 'rejection code (rejected only)', example: 'NOT_OWNER' })
  code?: string;
  @ApiPropertyOptional({ type: String, description: 'rejection reason (rejected only)' })
  reason?: string;
  @ApiPropertyOptional({ type: 'integer' })
  round?: number;
  @ApiPropertyOptional({ type: 'integer' })
  consensusIndex?: number;
}

export class ErrorBodyDto {
  @ApiProperty({
    type: String,
    example: 'INVALID_PAYLOAD',
    description:
      'MALFORMED_JSON, PAYLOAD_TOO_LARGE, INVALID_ENVELOPE, UNKNOWN_PAYLOAD_TYPE, INVALID_PAYLOAD, BAD_SIGNATURE, NOT_FOUND, BAD_REQUEST, UNAVAILABLE, INTERNAL',
  })
  code!: string;
  @ApiProperty({ type: String })
  message!: string;
  @ApiPropertyOptional({ type: Object, description: 'e.g. [{path, message}] for validation errors' })
  details?: unknown;
}

export class ErrorDto {
  @ApiProperty({ type: ErrorBodyDto })
  error!: ErrorBodyDto;
}

export class CapacityDto {
  @ApiProperty({ type: 'integer' })
  vcpus!: number;
  @ApiProperty({ type: 'integer' })
  memoryMiB!: number;
  @ApiProperty({ type: 'integer' })
  diskGiB!: number;
}

export class VmDto {
  @ApiProperty({ type: String })
  vmId!: string;
  @ApiProperty({ type: String, description: 'owner public key', pattern: HEX64 })
  owner!: string;
  @ApiProperty({ type: String })
  name!: string;
  @ApiProperty({ type: String, nullable: true })
  hostId!: string | null;
  @ApiProperty({ type: 'integer' })
  vcpus!: number;
  @ApiProperty({ type: 'integer' })
  memoryMiB!: number;
  @ApiProperty({ type: 'integer' })
  diskGiB!: number;
  @ApiProperty({ type: String })
  image!: string;
  @ApiProperty({ type: String, enum: [...VM_STATUSES] })
  status!: string;
  @ApiProperty({ type: String })
  statusReason!: string;
  @ApiProperty({ type: String, description: 'payload id of the request the VM is answering', pattern: HEX64 })
  requestId!: string;
  @ApiProperty({ type: [String] })
  addresses!: string[];
  @ApiProperty({ type: 'integer', description: 'ledger index of the last change' })
  updatedAt!: number;
}

export class HostDto {
  @ApiProperty({ type: String })
  hostId!: string;
  @ApiProperty({ type: String, pattern: HEX64 })
  operator!: string;
  @ApiProperty({ type: String })
  libvirtUri!: string;
  @ApiProperty({ type: CapacityDto })
  capacity!: CapacityDto;
  @ApiProperty({ type: CapacityDto })
  used!: CapacityDto;
  @ApiProperty({ type: Boolean })
  draining!: boolean;
}

export class OperatorDto {
  @ApiProperty({ type: String, pattern: HEX64 })
  operatorKey!: string;
  @ApiProperty({ type: 'integer' })
  stake!: number;
  @ApiProperty({ type: String })
  endpoint!: string;
  @ApiProperty({ type: String, enum: ['member', 'removed'] })
  status!: string;
  @ApiProperty({ type: 'integer' })
  sinceRound!: number;
}

export class ProposalDto {
  @ApiProperty({ type: String, pattern: HEX64 })
  proposalId!: string;
  @ApiProperty({ type: String, enum: ['admit', 'remove'] })
  kind!: string;
  @ApiProperty({ type: String, pattern: HEX64 })
  operatorKey!: string;
  @ApiProperty({ type: 'integer' })
  stake!: number;
  @ApiProperty({ type: String })
  endpoint!: string;
  @ApiProperty({ type: String, pattern: HEX64 })
  proposer!: string;
  @ApiProperty({ type: String, enum: ['open', 'admitted', 'removed'] })
  status!: string;
  @ApiProperty({ type: [String] })
  approvals!: string[];
  @ApiProperty({ type: [String] })
  rejections!: string[];
}

export class AccountDto {
  @ApiProperty({ type: String, pattern: HEX64 })
  key!: string;
  @ApiProperty({ type: 'integer' })
  vms!: number;
  @ApiProperty({ type: 'integer' })
  vcpus!: number;
  @ApiProperty({ type: 'integer' })
  maxVms!: number;
  @ApiProperty({ type: 'integer' })
  maxVcpus!: number;
}

const NEXT = {
  type: String,
  description: 'opaque cursor: pass as `after` for the next page; absent on the last page',
};

export class VmPageDto {
  @ApiProperty({ type: [VmDto] })
  items!: VmDto[];
  @ApiPropertyOptional(NEXT)
  next?: string;
}

export class HostPageDto {
  @ApiProperty({ type: [HostDto] })
  items!: HostDto[];
  @ApiPropertyOptional(NEXT)
  next?: string;
}

export class OperatorPageDto {
  @ApiProperty({ type: [OperatorDto] })
  items!: OperatorDto[];
  @ApiPropertyOptional(NEXT)
  next?: string;
}

export class ProposalPageDto {
  @ApiProperty({ type: [ProposalDto] })
  items!: ProposalDto[];
  @ApiPropertyOptional(NEXT)
  next?: string;
}
