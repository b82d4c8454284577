import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { nonEmpty } from '../parse.js';

export function registerProjections(program: Command, io: CliIo): void {
  const projections = program.command('projections').description('the read models of a node');
  projections
    .command('rebuild')
    .description(
      "drop a node's read models and project its `ledger` stream again (run it with the node stopped)",
    )
    .requiredOption('--config <file>', 'node config written by `dagger genesis`', nonEmpty('--config'))
    .option('--json', 'print one JSON object on stdout and nothing else')
    .action(async (opts: { config: string; json?: boolean }, cmd: Command) => {
      const { rebuildProjections } = await import('../../node/rebuild.js');
      try {
        const result = await rebuildProjections(opts.config, (done) => {
          if (!opts.json && io.stderrIsTTY) io.err(`\rprojected ${done} ledger records`);
        });
        if (opts.json) io.out(`${JSON.stringify(result)}\n`);
        else
          io.out(
            `${io.stderrIsTTY ? '\n' : ''}rebuilt: ${result.records} ledger records, checkpoint ${result.checkpoint}, ${result.seconds.toFixed(1)} s\n`,
          );
      } catch (err) {
        cmd.error(`error: ${(err as Error).message}`);
      }
    });
}
