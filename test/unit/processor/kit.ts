import { sha256, signerFromSecretKey, strictVerifier, toHex } from '../../../domain/crypto/index.js';
import { signPayload } from '../../../domain/payloads/index.js';
import {
  applyPayload,
  decide,
  evolve,
  initialState,
  type LedgerEvent,
  type LedgerPosition,
  type ProcessorConfig,
  type ProcessorPorts,
  type ProcessorState,
  type RejectionCode,
  stateRoot,
} from '../../../domain/processor/index.js';

/** Test kit: real ed25519 keys, signed payloads, and given/when/then over the decider. */

export const ports: ProcessorPorts = { verify: strictVerifier, hash: sha256 };
export const hash = sha256;

/** Consensus time of the first step (µs) and the same in ms. */
export const T0 = 1_800_000_000_000_000;
export const T0_MS = T0 / 1000;

export interface Signed {
  readonly bytes: Uint8Array;
  readonly payloadId: string;
  readonly type: string;
  readonly signer: string;
  readonly expiresAt: number;
}

export class Actor {
  readonly key: string;
  private readonly signer;
  private nonces = 0;

  constructor(readonly label: string) {
    this.signer = signerFromSecretKey(sha256(new TextEncoder().encode(`processor-kit:${label}`)));
    this.key = toHex(this.signer.publicKey);
  }

  /** Signs `payload`; nonce and expiresAt (T0 + 10 min) are filled in unless given. */
  sign(payload: { type: string } & Record<string, unknown>): Signed {
    const full = { nonce: `${this.label}-nonce-${this.nonces++}`, expiresAt: T0_MS + 600_000, ...payload };
    const { bytes, payloadId } = signPayload(full, this.signer, hash);
    return { bytes, payloadId, type: payload.type, signer: this.key, expiresAt: full.expiresAt };
  }
}

export const alice = new Actor('alice'); // member, operator of h1
export const bob = new Actor('bob'); // member, operator of h2
export const carol = new Actor('carol'); // member without hosts
export const dan = new Actor('dan'); // member without hosts
export const erin = new Actor('erin'); // developer, default quota
export const frank = new Actor('frank'); // developer with a larger quota
export const newcomer = new Actor('newcomer'); // not a member

export const H1 = { vcpus: 8, memoryMiB: 16_384, diskGiB: 200 };
export const H2 = { vcpus: 4, memoryMiB: 8_192, diskGiB: 100 };

export const config: ProcessorConfig = {
  members: [alice, bob, carol, dan].map((a) => ({ key: a.key, stake: 1, endpoint: `http://${a.label}` })),
  hosts: [
    { hostId: 'h1', operator: alice.key, libvirtUri: 'qemu+ssh://h1/system', capacity: H1 },
    { hostId: 'h2', operator: bob.key, libvirtUri: 'qemu+ssh://h2/system', capacity: H2 },
  ],
  accounts: [{ key: frank.key, maxVms: 50, maxVcpus: 200 }],
  defaultQuota: { maxVms: 3, maxVcpus: 8 },
  maxProposalStake: 10,
  membershipDelay: 2,
  operationDeadlineMicros: 300_000_000,
  maxPayloadTtlMs: 3_600_000,
};

export type Step = Signed | LedgerEvent;
const isSigned = (s: Step): s is Signed => 'bytes' in s;

export interface At {
  readonly round?: number;
  readonly consensusTimestamp?: number;
}

/** Builds states from steps: a signed payload is decided and applied, a ledger event is evolved. */
export class Scenario {
  private n = 0;
  readonly state: ProcessorState;

  constructor(
    readonly cfg: ProcessorConfig = config,
    private readonly round = 1,
  ) {
    this.state = initialState(cfg);
  }

  position(at: At = {}): LedgerPosition {
    this.n++;
    return {
      consensusIndex: this.n,
      payloadIndex: 0,
      round: at.round ?? this.round,
      consensusTimestamp: at.consensusTimestamp ?? T0 + this.n,
    };
  }

  step(s: Step, at: At = {}): LedgerEvent[] {
    const position = this.position(at);
    if (isSigned(s)) return applyPayload(this.state, { bytes: s.bytes, position }, ports);
    evolve(this.state, s, position);
    return [s];
  }
}

export function given(...steps: Step[]) {
  return givenIn(config, ...steps);
}

export function givenIn(cfg: ProcessorConfig, ...steps: Step[]) {
  const build = () => {
    const s = new Scenario(cfg);
    for (const step of steps) s.step(step);
    return s;
  };
  return {
    when(payload: Signed | Uint8Array, at: At = {}) {
      const bytes = payload instanceof Uint8Array ? payload : payload.bytes;
      const decided = build();
      const applied = build();
      const position = decided.position(at);
      applied.position(at);
      const before = stateRoot(decided.state, hash);
      const events = decide(decided.state, { bytes, position }, ports);
      // decide() is pure; decide + evolve equals the fused apply.
      expect(stateRoot(decided.state, hash)).toBe(before);
      for (const e of events) evolve(decided.state, e, position);
      expect(applyPayload(applied.state, { bytes, position }, ports)).toEqual(events);
      expect(stateRoot(decided.state, hash)).toBe(stateRoot(applied.state, hash));
      return {
        events,
        state: decided.state,
        then(...expected: LedgerEvent[]) {
          expect(events).toEqual(expected);
          return this;
        },
        thenMatch(...expected: Partial<LedgerEvent>[]) {
          expect(events).toHaveLength(expected.length);
          expect(events).toMatchObject(expected);
          return this;
        },
        thenRejected(code: RejectionCode, reason?: RegExp) {
          expect(events).toHaveLength(1);
          expect(events[0]).toMatchObject({ type: 'PayloadRejected', code });
          if (reason) expect((events[0] as { reason: string }).reason).toMatch(reason);
          expect(stateRoot(decided.state, hash)).toBe(before);
          return this;
        },
      };
    },
  };
}

export const accepted = (s: Signed): LedgerEvent => ({
  type: 'PayloadAccepted',
  payloadId: s.payloadId,
  payloadType: s.type,
  signer: s.signer,
  expiresAt: s.expiresAt,
});

export const vmIdOf = (s: Signed): string => `vm-${s.payloadId.slice(0, 16)}`;

export const small = { vcpus: 1, memoryMiB: 1024, diskGiB: 10 };

export const createVm = (who: Actor, fields: Record<string, unknown> = {}): Signed =>
  who.sign({ type: 'vm.create', name: 'web', ...small, ...fields });
