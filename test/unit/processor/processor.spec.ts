import { openPayloadBytes } from '../../../domain/payloads/index.js';
import { PayloadProcessor, type LedgerRecord } from '../../../domain/processor/index.js';
import { alice, bob, carol, config, createVm, erin, newcomer, ports, T0 } from './kit.js';

const propose = alice.sign({
  type: 'operator.propose',
  operatorKey: newcomer.key,
  stake: 2,
  endpoint: 'http://n',
});
const votes = [bob, carol].map((v) =>
  v.sign({ type: 'operator.vote', proposalId: propose.payloadId, approve: true }),
);

describe('PayloadProcessor', () => {
  it('numbers the ledger from nextLedgerIndex, with positions, and ends each round with its root', () => {
    const p = new PayloadProcessor(config, ports, { nextLedgerIndex: 10 });
    const c = createVm(erin);
    const out = p.processRound(3, [
      { consensusIndex: 7, consensusTimestamp: T0, payloads: [c.bytes, new Uint8Array([1])] },
      { consensusIndex: 8, consensusTimestamp: T0 + 5, payloads: [] },
    ]);
    expect(out.records.map((r) => r.ledgerIndex)).toEqual([10, 11, 12, 13, 14, 15]);
    expect(out.records.map((r) => [r.at.consensusIndex, r.at.payloadIndex, r.at.round])).toEqual([
      [7, 0, 3],
      [7, 0, 3],
      [7, 0, 3],
      [7, 0, 3],
      [7, 1, 3],
      [8, -1, 3],
    ]);
    const last = out.records[5]!;
    expect(last.event).toEqual({ type: 'StateRootComputed', round: 3, root: out.root });
    expect(last.at.consensusTimestamp).toBe(T0 + 5);
    expect(p.root()).toBe(out.root);
    expect(p.round).toBe(3);
    expect(p.nextLedgerIndex).toBe(16);
    expect(() => p.processRound(3, [])).toThrow(/ROUND_ORDER/);
  });

  it('reports the membership changes a round decided, for the hashgraph port', () => {
    const p = new PayloadProcessor(config, ports);
    const out = p.processRound(1, [
      { consensusIndex: 1, consensusTimestamp: T0, payloads: [propose.bytes, ...votes.map((v) => v.bytes)] },
    ]);
    expect(out.membership).toEqual([{ kind: 'add', key: newcomer.key, stake: 2 }]);
    expect(out.records.find((r) => r.event.type === 'OperatorAdmitted')!.event).toMatchObject({
      effectiveRound: 3,
    });
    expect(p.processRound(2, []).membership).toEqual([]);
  });

  it('an empty round closes at the last time seen, or at the time given', () => {
    const p = new PayloadProcessor(config, ports);
    p.processRound(1, [{ consensusIndex: 4, consensusTimestamp: T0 + 9, payloads: [] }]);
    expect(p.processRound(2, []).records[0]!.at).toEqual({
      consensusIndex: 4,
      payloadIndex: -1,
      round: 2,
      consensusTimestamp: T0 + 9,
    });
    expect(
      p.processRound(3, [], { consensusTimestamp: T0 + 20, consensusIndex: 5 }).records[0]!.at,
    ).toMatchObject({
      consensusTimestamp: T0 + 20,
    });
  });

  it('uses the open port when given, so opening can happen ahead of the order', () => {
    const c = createVm(erin);
    let opened = 0;
    const cache = new Map([[c.bytes, openPayloadBytes(c.bytes, ports)]]);
    const verify = {
      verify: () => {
        throw new Error('verify must not be called');
      },
    };
    const p = new PayloadProcessor(config, {
      ...ports,
      verify,
      open: (bytes) => {
        opened++;
        return cache.get(bytes)!;
      },
    });
    const out = p.processRound(1, [{ consensusIndex: 1, consensusTimestamp: T0, payloads: [c.bytes] }]);
    expect(opened).toBe(1);
    expect(out.records[0]!.event.type).toBe('PayloadAccepted');
    const plain = new PayloadProcessor(config, ports);
    expect(
      plain.processRound(1, [{ consensusIndex: 1, consensusTimestamp: T0, payloads: [c.bytes] }]).root,
    ).toBe(out.root);
  });

  it('replay rebuilds from the ledger and catches a forged root or a gap', () => {
    const p = new PayloadProcessor(config, ports);
    const records: LedgerRecord[] = [
      ...p.processRound(1, [{ consensusIndex: 1, consensusTimestamp: T0, payloads: [createVm(erin).bytes] }])
        .records,
      ...p.processRound(2, [
        { consensusIndex: 2, consensusTimestamp: T0 + 1, payloads: [createVm(erin).bytes] },
      ]).records,
    ];
    const replayed = PayloadProcessor.replay(config, records, ports, { checkRoots: true });
    expect(replayed.root()).toBe(p.root());
    expect(replayed.round).toBe(2);
    const forged = records.map((r) =>
      r.event.type === 'StateRootComputed' && r.event.round === 1
        ? { ...r, event: { ...r.event, root: '0'.repeat(64) } }
        : r,
    );
    expect(() => PayloadProcessor.replay(config, forged, ports, { checkRoots: true })).toThrow(
      /ROOT_MISMATCH/,
    );
    expect(() => PayloadProcessor.replay(config, records.slice(1), ports)).toThrow(/BAD_EVENT/);
  });
});
