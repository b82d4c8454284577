import type { Command } from 'commander';
import type { CliIo } from '../io.js';
import { nonEmpty } from '../parse.js';

export function registerNode(program: Command, io: CliIo): void {
  program
    .command('node')
    .description('run one node as its own process (until SIGINT/SIGTERM)')
    .requiredOption('--config <file>', 'node config written by `dagger genesis`', nonEmpty('--config'))
    .action(async (opts: { config: string }, cmd: Command) => {
      const { loadNodeConfig, startNode } = await import('../../node/launcher.js');
      let config;
      try {
        config = loadNodeConfig(opts.config);
      } catch (err) {
        cmd.error(`error: ${(err as Error).message}`);
      }
      const log = (level: string, msg: string, fields?: Record<string, unknown>) =>
        io.err(`${JSON.stringify({ time: new Date().toISOString(), level, msg, ...fields })}\n`);
      const node = await startNode(config!, { log });
      log('info', 'api listening', { url: node.url });
      await Promise.race([io.interrupted(), failed(node.runtime)]);
      await node.stop();
      if (node.runtime.failed) io.setExitCode(1);
    });
}

function failed(runtime: { readonly failed: Error | null }): Promise<void> {
  return new Promise((resolve) => {
    const timer = setInterval(() => {
      if (runtime.failed) {
        clearInterval(timer);
        resolve();
      }
    }, 500);
    timer.unref();
  });
}
