import { LIMITS, PAYLOAD_SCHEMAS, PAYLOAD_TYPES, type PayloadType } from './schemas.js';

const base = { nonce: 'nonce-0001', expiresAt: 1_800_000_000_000 };
const hex64 = 'ab'.repeat(32);
const valid: Record<PayloadType, Record<string, unknown>> = {
  'vm.create': { name: 'web', vcpus: 1, memoryMiB: 64, diskGiB: 1 },
  'vm.resize': { vmId: 'v1', vcpus: 2 },
  'vm.stop': { vmId: 'v1' },
  'vm.start': { vmId: 'v1' },
  'vm.destroy': { vmId: 'v1' },
  'vm.report': { vmId: 'v1', requestId: hex64, status: 'running' },
  'host.register': {
    hostId: 'h1',
    libvirtUri: 'qemu:///system',
    capacity: { vcpus: 1, memoryMiB: 1, diskGiB: 1 },
  },
  'host.update': { hostId: 'h1', libvirtUri: 'qemu:///system' },
  'host.drain': { hostId: 'h1' },
  'operator.propose': { operatorKey: hex64, stake: 1, endpoint: 'http://x' },
  'operator.vote': { proposalId: hex64, approve: true },
  'operator.remove': { operatorKey: hex64 },
};
const ok = (type: PayloadType, fields: Record<string, unknown>) =>
  PAYLOAD_SCHEMAS[type].safeParse({ type, ...base, ...fields }).success;

describe('payload schemas', () => {
  it.each(PAYLOAD_TYPES)(
    '%s: a valid example passes; an extra field, a missing nonce or a float fails',
    (type) => {
      expect(ok(type, valid[type])).toBe(true);
      expect(ok(type, { ...valid[type], extra: 1 })).toBe(false);
      expect(PAYLOAD_SCHEMAS[type].safeParse({ type, expiresAt: 1, ...valid[type] }).success).toBe(false);
      expect(ok(type, { ...valid[type], expiresAt: 1.5 })).toBe(false);
      expect(ok(type, { ...valid[type], expiresAt: -1 })).toBe(false);
    },
  );

  it('every schema is keyed by its own type literal', () => {
    for (const type of PAYLOAD_TYPES) {
      const other = PAYLOAD_TYPES.find((t) => t !== type)!;
      expect(PAYLOAD_SCHEMAS[type].safeParse({ type: other, ...base, ...valid[type] }).success).toBe(false);
    }
  });

  it('vm.create fills in image and sshKeys, and bounds its sizes', () => {
    const parsed = PAYLOAD_SCHEMAS['vm.create'].parse({ type: 'vm.create', ...base, ...valid['vm.create'] });
    expect(parsed).toMatchObject({ image: 'blank', sshKeys: [] });
    expect(ok('vm.create', { ...valid['vm.create'], vcpus: 129 })).toBe(false);
    expect(ok('vm.create', { ...valid['vm.create'], memoryMiB: 63 })).toBe(false);
    expect(ok('vm.create', { ...valid['vm.create'], sshKeys: ['a\nb'] })).toBe(false);
    expect(ok('vm.create', { ...valid['vm.create'], sshKeys: Array(LIMITS.sshKeys + 1).fill('k') })).toBe(
      false,
    );
  });

  it('userData is bounded in UTF-8 bytes, not characters', () => {
    const ascii = 'a'.repeat(LIMITS.userDataBytes);
    expect(ok('vm.create', { ...valid['vm.create'], userData: ascii })).toBe(true);
    expect(ok('vm.create', { ...valid['vm.create'], userData: ascii + 'a' })).toBe(false);
    const twoByte = 'é'.repeat(LIMITS.userDataBytes / 2);
    expect(ok('vm.create', { ...valid['vm.create'], userData: twoByte })).toBe(true);
    expect(ok('vm.create', { ...valid['vm.create'], userData: twoByte + 'é' })).toBe(false);
    expect(ok('vm.create', { ...valid['vm.create'], userData: '😀'.repeat(LIMITS.userDataBytes / 4) })).toBe(
      true,
    );
    expect(
      ok('vm.create', { ...valid['vm.create'], userData: '😀'.repeat(LIMITS.userDataBytes / 4) + 'a' }),
    ).toBe(false);
  });

  it('ids are DNS-label-like; hex fields are lowercase', () => {
    expect(ok('vm.stop', { vmId: 'Web' })).toBe(false);
    expect(ok('vm.stop', { vmId: '-web' })).toBe(false);
    expect(ok('vm.stop', { vmId: 'a'.repeat(64) })).toBe(false);
    expect(ok('vm.stop', { vmId: 'a'.repeat(63) })).toBe(true);
    expect(ok('operator.vote', { proposalId: hex64.toUpperCase(), approve: true })).toBe(false);
    expect(ok('vm.report', { ...valid['vm.report'], requestId: 'ab' })).toBe(false);
  });

  it('resize and host.update need at least one change', () => {
    expect(ok('vm.resize', { vmId: 'v1' })).toBe(false);
    expect(ok('host.update', { hostId: 'h1' })).toBe(false);
    expect(ok('host.update', { hostId: 'h1', capacity: { vcpus: 0, memoryMiB: 0, diskGiB: 0 } })).toBe(true);
  });

  it('vm.report takes only the statuses an operator may report', () => {
    for (const status of ['provisioning', 'running', 'stopped', 'blocked', 'failed', 'destroyed'])
      expect(ok('vm.report', { ...valid['vm.report'], status })).toBe(true);
    for (const status of ['requested', 'scheduled', 'destroying', 'nope'])
      expect(ok('vm.report', { ...valid['vm.report'], status })).toBe(false);
  });

  it('operator stakes are positive integers', () => {
    expect(ok('operator.propose', { ...valid['operator.propose'], stake: 0 })).toBe(false);
    expect(ok('operator.propose', { ...valid['operator.propose'], stake: 2 ** 53 })).toBe(false);
  });
});
