import { InvalidArgumentError, Option, type Command } from 'commander';
import { type Behavior, BEHAVIORS } from '../../sim/simulator.js';
import cliProgress from 'cli-progress';
import type { CliIo } from '../io.js';
import { intInRange } from '../parse.js';

export const SIM_MUTANTS = ['threshold-half', 'no-fork-exclusion', 'first-branch-wins'] as const;
export type SimMutant = (typeof SIM_MUTANTS)[number];

export interface SimCliOptions {
  readonly nodes: number;
  readonly byzantine: number;
  readonly seeds: number;
  readonly seed?: number;
  readonly events?: number;
  readonly mutant?: SimMutant;
  readonly behaviors?: Behavior[];
  readonly json?: boolean;
}

function parseBehaviors(value: string): Behavior[] {
  const list = value.split(',').map((b) => b.trim());
  for (const b of list)
    if (!(BEHAVIORS as readonly string[]).includes(b))
      throw new InvalidArgumentError(`unknown behaviour '${b}'; choose from ${BEHAVIORS.join(', ')}`);
  return list as Behavior[];
}

export function registerSim(program: Command, io: CliIo): void {
  program
    .command('sim')
    .description('run the deterministic multi-node simulator over many seeds and check safety and liveness')
    .requiredOption('--nodes <n>', 'members per run (1..64)', intInRange(1, 64))
    .option('--byzantine <f>', 'Byzantine members per run (0..nodes-1)', intInRange(0, 63), 0)
    .option('--seeds <s>', 'number of seeded runs', intInRange(1, 1_000_000), 10)
    .option('--seed <k>', 'first seed; runs use k, k+1, ...', intInRange(0, Number.MAX_SAFE_INTEGER))
    .option('--events <e>', 'events each honest member creates per run (>= 10)', intInRange(10, 1_000_000))
    .addOption(
      new Option('--mutant <m>', 'inject a known consensus defect to show the simulator catches it').choices(
        SIM_MUTANTS,
      ),
    )
    .option(
      '--behaviors <list>',
      `comma-separated Byzantine behaviours for every run (default: drawn per seed): ${BEHAVIORS.join(', ')}`,
      parseBehaviors,
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .addHelpText(
      'after',
      '\nExit status: 1 when any run violates safety or liveness (without --mutant); 0 otherwise.\n' +
        'With --mutant the violations found are the expected outcome and the exit status is 0.',
    )
    .action(async (opts: SimCliOptions, cmd: Command) => {
      if (opts.byzantine >= opts.nodes)
        cmd.error(`error: --byzantine must be below --nodes (${opts.nodes}).`);
      const { runSimulations } = await import('../../sim/simulator.js');
      let bar: cliProgress.SingleBar | null = null;
      if (io.stderrIsTTY) {
        bar = new cliProgress.SingleBar(
          {
            stream: process.stderr,
            format: 'sim [{bar}] {value}/{total} runs | {duration_formatted}',
            hideCursor: true,
          },
          cliProgress.Presets.shades_classic,
        );
        bar.start(opts.seeds, 0);
      }
      let report;
      try {
        report = runSimulations({
          nodes: opts.nodes,
          byzantine: opts.byzantine,
          seeds: opts.seeds,
          ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
          ...(opts.events !== undefined ? { events: opts.events } : {}),
          ...(opts.mutant !== undefined ? { mutant: opts.mutant } : {}),
          ...(opts.behaviors !== undefined ? { behaviors: opts.behaviors } : {}),
          onProgress: (done) => bar?.update(done),
        });
      } finally {
        bar?.stop();
      }
      const failures = report.safetyViolations + report.livenessFailures;
      if (opts.json) io.out(`${JSON.stringify(report)}\n`);
      else {
        const lines = [
          `runs               ${report.runs} (nodes ${report.nodes}, byzantine ${report.byzantine}${report.mutant ? `, mutant ${report.mutant}` : ''})`,
          `payloads           ${report.orderedPayloads} ordered of ${report.submittedPayloads} submitted`,
          `safety violations  ${report.safetyViolations}`,
          `liveness failures  ${report.livenessFailures}`,
          `failed seeds       ${report.failedSeeds.length > 0 ? report.failedSeeds.join(' ') : '-'}`,
          `order hash         ${report.orderHash}`,
        ];
        if (report.mutant)
          lines.push(failures > 0 ? 'mutant caught' : 'mutant NOT caught: the simulator missed this defect');
        else lines.push(failures > 0 ? 'FAILED' : 'ok');
        io.out(`${lines.join('\n')}\n`);
      }
      if (failures > 0 && !report.mutant) io.setExitCode(1);
    });
}
