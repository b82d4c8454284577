import { type Command, Option } from 'commander';
import type { CliIo } from '../io.js';
import { intInRange, nonEmpty } from '../parse.js';
import {
  addApiOptions,
  addSendOptions,
  type ApiCliOptions,
  CliFailure,
  client,
  printJson,
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

interface ListOptions extends ApiCliOptions {
  readonly proposals?: boolean;
  readonly all?: boolean;
  readonly limit?: number;
  readonly after?: string;
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

  addApiOptions(
    operator
      .command('list')
      .description('list operators, or proposals with --proposals')
      .option('--proposals', 'list admission and removal proposals instead')
      .option('--limit <n>', 'page size (1..500)', intInRange(1, 500))
      .option('--after <cursor>', 'continue after this cursor')
      .option('--all', 'follow "next" and list every page'),
  ).action((opts: ListOptions) =>
    runCommand(io, opts.json, async () => {
      const api = client(opts);
      const q = {
        ...(opts.limit !== undefined ? { limit: opts.limit } : {}),
        ...(opts.after !== undefined ? { after: opts.after } : {}),
      };
      if (opts.proposals) {
        const page = opts.all ? { items: await api.all((p) => api.proposals(p)) } : await api.proposals(q);
        if (opts.json) printJson(io, page);
        else
          io.out(
            page.items
              .map(
                (p) =>
                  `${p.proposalId} ${p.kind.padEnd(6)} ${p.status.padEnd(8)} ${p.operatorKey} stake ${p.stake} ` +
                  `+${p.approvals.length}/-${p.rejections.length}\n`,
              )
              .join(''),
          );
        return;
      }
      const page = opts.all ? { items: await api.all((p) => api.operators(p)) } : await api.operators(q);
      if (opts.json) printJson(io, page);
      else
        io.out(
          page.items
            .map(
              (o) =>
                `${o.operatorKey} ${o.status.padEnd(7)} stake ${o.stake} since round ${o.sinceRound} ${o.endpoint}\n`,
            )
            .join(''),
        );
    }),
  );
}
