import { Command } from 'commander';
import { registerAudit } from './commands/audit.js';
import { registerBench } from './commands/bench.js';
import { registerDevnet } from './commands/devnet.js';
import { registerGenesis } from './commands/genesis.js';
import { registerHost } from './commands/host.js';
import { registerNode } from './commands/node.js';
import { registerOperator } from './commands/operator.js';
import { registerProjections } from './commands/projections.js';
import { registerKeygen } from './commands/keygen.js';
import { registerSim } from './commands/sim.js';
import { registerVm } from './commands/vm.js';
import { type CliIo, processIo } from './io.js';

export const CLI_VERSION = '0.1.0';

/** The `dagger` command tree. Tests pass their own io and call exitOverride(). */
export function buildProgram(io: CliIo = processIo()): Command {
  const program = new Command('dagger')
    .description('DAGGER: decentralized cloud orchestration on a hashgraph-ordered ShadowGraph')
    .version(CLI_VERSION)
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.out(s),
      writeErr: (s) => io.err(s),
    });
  registerKeygen(program, io);
  registerSim(program, io);
  registerBench(program, io);
  registerDevnet(program, io);
  registerGenesis(program, io);
  registerNode(program, io);
  registerVm(program, io);
  registerOperator(program, io);
  registerHost(program, io);
  registerAudit(program, io);
  registerProjections(program, io);
  return program;
}
