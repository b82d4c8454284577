import { type Command, Option } from 'commander';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addPageOptions,
  addSendOptions,
  CliFailure,
  client,
  fetchList,
  type PageCliOptions,
  printList,
  runCommand,
  sendPayload,
  type SendCliOptions,
} from './api-common.js';

interface ProposeOptions extends SendCliOptions {
  readonly operatorKey: string;
  readonly stake: number;
  readonly endpoint: string;
}

interface VoteOptions extends SendCliOptions {
  readonly approve?: boolean;
  readonly reject?: boolean;
}

interface ListOptions extends PageCliOptions {
  readonly proposals?: boolean;
}

export function registerOperator(program: Command, io: CliIo): void {
  const operator = program
    .command('operator')
    .description('operator membership: propose, vote, remove, list');

  addSendOptions(
    operator
      .command('propose')
      .description('propose admitting an operator (takes effect on a 2/3 vote of stake)')
      .requiredOption('--operator-key <hex>', "the new operator's public key (64 hex)")
      .requiredOption('--stake <n>', 'stake to give it', intInRange(1, Number.MAX_SAFE_INTEGER))
      .requiredOption('--endpoint <url>', "the new operator's API endpoint", nonEmpty('--endpoint')),
  ).action((opts: ProposeOptions) =>
    runCommand(io, opts.json, () =>
      sendPayload(io, opts, {
        type: 'operator.propose',
        operatorKey: opts.operatorKey,
        stake: opts.stake,
        endpoint: opts.endpoint,
      }),
    ),
  );

  addSendOptions(
    operator
      .command('vote')
      .description('vote on an open proposal (admission or removal)')
      .argument('<proposalId>', 'the proposal (its payload id)')
      .addOption(new Option('--approve', 'vote for').conflicts('reject'))
      .addOption(new Option('--reject', 'vote against').conflicts('approve')),
  ).action((proposalId: string, opts: VoteOptions) =>
    runCommand(io, opts.json, async () => {
      if (!opts.approve && !opts.reject) throw new CliFailure('BAD_ARGUMENTS', 'give --approve or --reject');
      await sendPayload(io, opts, { type: 'operator.vote', proposalId, approve: opts.approve === true });
    }),
  );

  addSendOptions(
    operator
      .command('remove')
      .description('propose removing an operator (takes effect on a 2/3 vote of stake)')
      .argument('<operatorKey>', "the operator's public key (64 hex)"),
  ).action((operatorKey: string, opts: SendCliOptions) =>
    runCommand(io, opts.json, () => sendPayload(io, opts, { type: 'operator.remove', operatorKey })),
  );

  addPageOptions(
    operator
      .command('list')
      .description('list operators, or proposals with --proposals')
      .option('--proposals', 'list admission and removal proposals instead'),
  ).action((opts: ListOptions) =>
    runCommand(io, opts.json, async () => {
      const api = client(opts);
      if (opts.proposals)
        printList(
          io,
          opts.json,
          await fetchList(api, opts, (q) => api.proposals(q)),
          (p) =>
            `${p.proposalId} ${p.kind.padEnd(6)} ${p.status.padEnd(8)} ${p.operatorKey} stake ${p.stake} ` +
            `+${p.approvals.length}/-${p.rejections.length}`,
        );
      else
        printList(
          io,
          opts.json,
          await fetchList(api, opts, (q) => api.operators(q)),
          (o) =>
            `${o.operatorKey} ${o.status.padEnd(7)} stake ${o.stake} since round ${o.sinceRound} ${o.endpoint}`,
        );
    }),
  );
}
