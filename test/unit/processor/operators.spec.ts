import { membershipChangesOf } from '../../../domain/processor/index.js';
import {
  accepted,
  alice,
  bob,
  carol,
  createVm,
  dan,
  erin,
  given,
  givenIn,
  config,
  newcomer,
  type Signed,
} from './kit.js';

const propose = (who = alice, stake = 1, operatorKey = newcomer.key): Signed =>
  who.sign({ type: 'operator.propose', operatorKey, stake, endpoint: 'http://newcomer' });
const vote = (who: typeof alice, proposalId: string, approve = true): Signed =>
  who.sign({ type: 'operator.vote', proposalId, approve });

describe('operator.propose and operator.vote', () => {
  const p = propose();

  it('a member opens a proposal; its own approval counts', () => {
    given().when(p).then(
      accepted(p),
      {
        type: 'ProposalOpened',
        proposalId: p.payloadId,
        kind: 'admit',
        operatorKey: newcomer.key,
        stake: 1,
        endpoint: 'http://newcomer',
        proposer: alice.key,
      },
      { type: 'ProposalVoted', proposalId: p.payloadId, voter: alice.key, approve: true },
    );
  });

  it('NOT_MEMBER, STAKE_TOO_HIGH, ALREADY_MEMBER', () => {
    given().when(propose(newcomer)).thenRejected('NOT_MEMBER');
    given().when(propose(alice, 11)).thenRejected('STAKE_TOO_HIGH');
    given()
      .when(propose(alice, 1, bob.key))
      .thenRejected('ALREADY_MEMBER');
  });

  it('admits on strictly more than 2/3 of the stake, effective at round + k', () => {
    // 4 members of stake 1: 2 approvals are not enough (6 > 8 is false), 3 are.
    const v2 = vote(bob, p.payloadId);
    given(p)
      .when(v2)
      .then(accepted(v2), { type: 'ProposalVoted', proposalId: p.payloadId, voter: bob.key, approve: true });
    const v3 = vote(carol, p.payloadId);
    const s = given(p, v2).when(v3, { round: 5 }).then(
      accepted(v3),
      { type: 'ProposalVoted', proposalId: p.payloadId, voter: carol.key, approve: true },
      {
        type: 'OperatorAdmitted',
        proposalId: p.payloadId,
        operatorKey: newcomer.key,
        stake: 1,
        endpoint: 'http://newcomer',
        effectiveRound: 7,
      },
    );
    expect(membershipChangesOf(s.events)).toEqual([{ kind: 'add', key: newcomer.key, stake: 1 }]);
    expect(s.state.members.get(newcomer.key)).toEqual({
      stake: 1,
      endpoint: 'http://newcomer',
      since: 7,
      until: null,
    });
    expect(s.state.proposals.get(p.payloadId)!.status).toBe('admitted');
  });

  it('a rejection is recorded and does not count toward the threshold', () => {
    const no = vote(bob, p.payloadId, false);
    given(p)
      .when(no)
      .then(accepted(no), { type: 'ProposalVoted', proposalId: p.payloadId, voter: bob.key, approve: false });
    given(p, no, vote(carol, p.payloadId))
      .when(vote(dan, p.payloadId))
      .thenMatch({}, { type: 'ProposalVoted' }, { type: 'OperatorAdmitted' });
  });

  it('PROPOSAL_NOT_FOUND, ALREADY_VOTED, PROPOSAL_CLOSED, NOT_MEMBER', () => {
    given()
      .when(vote(bob, '0'.repeat(64)))
      .thenRejected('PROPOSAL_NOT_FOUND');
    given(p).when(vote(alice, p.payloadId)).thenRejected('ALREADY_VOTED');
    given(p, vote(bob, p.payloadId), vote(carol, p.payloadId))
      .when(vote(dan, p.payloadId))
      .thenRejected('PROPOSAL_CLOSED');
    given(p).when(vote(newcomer, p.payloadId)).thenRejected('NOT_MEMBER');
  });

  it('an admitted operator votes and registers hosts only from its effective round', () => {
    const admitted = [p, vote(bob, p.payloadId), vote(carol, p.payloadId)]; // round 1: effective at 3
    const reg = newcomer.sign({
      type: 'host.register',
      hostId: 'h9',
      libvirtUri: 'x',
      capacity: { vcpus: 1, memoryMiB: 1024, diskGiB: 1 },
    });
    given(...admitted)
      .when(reg, { round: 2 })
      .thenRejected('NOT_OPERATOR');
    given(...admitted)
      .when(reg, { round: 3 })
      .thenMatch(accepted(reg), { type: 'HostRegistered' });
    given(...admitted)
      .when(propose(alice))
      .thenRejected('ALREADY_MEMBER');
  });

  it('a single member with all the stake decides alone', () => {
    const solo = { ...config, members: [config.members[0]!], hosts: [config.hosts[0]!] };
    const q = propose();
    givenIn(solo)
      .when(q)
      .thenMatch(
        accepted(q),
        { type: 'ProposalOpened' },
        { type: 'ProposalVoted' },
        { type: 'OperatorAdmitted' },
      );
  });
});

describe('operator.remove', () => {
  const rm = alice.sign({ type: 'operator.remove', operatorKey: bob.key });

  it('opens a remove proposal; on 2/3 the operator is removed and its hosts drain', () => {
    given().when(rm).then(
      accepted(rm),
      {
        type: 'ProposalOpened',
        proposalId: rm.payloadId,
        kind: 'remove',
        operatorKey: bob.key,
        stake: 1,
        endpoint: 'http://bob',
        proposer: alice.key,
      },
      { type: 'ProposalVoted', proposalId: rm.payloadId, voter: alice.key, approve: true },
    );
    const vm = createVm(erin, { vmId: 'v1' }); // on h2 (bob)
    const last = vote(dan, rm.payloadId);
    const s = given(vm, rm, vote(carol, rm.payloadId))
      .when(last)
      .thenMatch(
        accepted(last),
        { type: 'ProposalVoted' },
        { type: 'OperatorRemoved', proposalId: rm.payloadId, operatorKey: bob.key, effectiveRound: 3 },
        { type: 'HostDrained', hostId: 'h2' },
        { type: 'VmOperationRequested', vmId: 'v1', hostId: 'h1' },
        { type: 'VmStatusChanged', vmId: 'v1', status: 'scheduled' },
      );
    expect(membershipChangesOf(s.events)).toEqual([{ kind: 'remove', key: bob.key }]);
    expect(s.state.members.get(bob.key)!.until).toBe(3);
  });

  it('the target must be a member; the last member cannot be removed', () => {
    given()
      .when(alice.sign({ type: 'operator.remove', operatorKey: newcomer.key }))
      .thenRejected('NOT_MEMBER');
    const solo = { ...config, members: [config.members[0]!], hosts: [] };
    givenIn(solo)
      .when(alice.sign({ type: 'operator.remove', operatorKey: alice.key }))
      .thenRejected('LAST_MEMBER');
  });

  it('a removed operator no longer votes from its effective round', () => {
    const removed = [rm, vote(carol, rm.payloadId), vote(dan, rm.payloadId)];
    const q = propose(carol);
    given(...removed, q)
      .when(vote(bob, q.payloadId), { round: 2 })
      .thenMatch({ type: 'PayloadAccepted' }, {});
    given(...removed, q)
      .when(vote(bob, q.payloadId), { round: 3 })
      .thenRejected('NOT_MEMBER');
  });
});
