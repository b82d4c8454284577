import { readFileSync } from 'node:fs';
import cliProgress from 'cli-progress';
import type { Command } from 'commander';
import type { AuditPhase, AuditReport } from '../../audit/index.js';
import type { CliIo } from '../io.js';
import { nonEmpty } from '../parse.js';

export interface AuditCliOptions {
  readonly store: string;
  readonly schema?: string;
  readonly genesis?: string;
  readonly rebuildReadModels?: string;
  readonly bench?: boolean;
  readonly json?: boolean;
}

const PHASES: Record<AuditPhase, string> = {
  read: 'reading',
  verify: 'signatures',
  consensus: 'consensus',
  ledger: 'ledger',
  'read-models': 'read models',
  bench: 'verify bound',
};

export function registerAudit(program: Command, io: CliIo): void {
  program
    .command('audit')
    .description(
      "replay a node's event store: re-derive consensus, ledger and state roots from the raw signed events",
    )
    .requiredOption(
      '--store <url>',
      'sqlite:PATH, postgres://…?schema=NAME or esdb://… (opened read-only)',
      nonEmpty('--store'),
    )
    .option('--schema <name>', 'PostgreSQL schema of the store (instead of ?schema=)', nonEmpty('--schema'))
    .option('--genesis <file>', 'the genesis the store must hold', nonEmpty('--genesis'))
    .option(
      '--rebuild-read-models <url>',
      'live read models to diff against a rebuild: sqlite:PATH or postgres://…?schema=NAME',
      nonEmpty('--rebuild-read-models'),
    )
    .option(
      '--bench',
      'also time strict verification of every signature the audit checks, after it, for ratioToBound (docs/audit.md)',
    )
    .option('--json', 'print one JSON object on stdout and nothing else')
    .addHelpText(
      'after',
      '\nExit status: 0 when the store audits clean, 1 on any mismatch, 2 when the audit could not run.',
    )
    .action(async (opts: AuditCliOptions, cmd: Command) => {
      const audit = await import('../../audit/index.js');
      let pinned;
      if (opts.genesis !== undefined) {
        try {
          const { parseGenesis } = await import('../../node/genesis.js');
          pinned = parseGenesis(JSON.parse(readFileSync(opts.genesis, 'utf8')));
        } catch (err) {
          cmd.error(`error: --genesis ${opts.genesis}: ${(err as Error).message}`);
        }
      }
      const live =
        opts.rebuildReadModels !== undefined
          ? parseOr(cmd, () => audit.parseReadModelsUrl(opts.rebuildReadModels!))
          : undefined;
      let bar: cliProgress.SingleBar | null = null;
      let phase: AuditPhase | null = null;
      const onProgress = (p: AuditPhase, done: number, total: number): void => {
        if (!io.stderrIsTTY) return;
        if (phase !== p) {
          bar?.stop();
          phase = p;
          bar = new cliProgress.SingleBar(
            {
              stream: process.stderr,
              format: `audit ${PHASES[p].padEnd(12)} [{bar}] {value}/{total} | {duration_formatted}`,
              hideCursor: true,
            },
            cliProgress.Presets.shades_classic,
          );
          bar.start(total, done);
        } else {
          bar?.setTotal(total);
          bar?.update(done);
        }
      };
      let report: AuditReport;
      try {
        const store = await audit.openAuditStore(opts.store, opts.schema);
        try {
          report = await audit.auditStore(store, {
            ...(pinned ? { genesis: pinned } : {}),
            ...(opts.bench ? { bench: true } : {}),
            onProgress,
            ...(live ? { readModels: (g, ledger, r) => audit.diffReadModels(live, g, ledger, r) } : {}),
          });
        } finally {
          (bar as cliProgress.SingleBar | null)?.stop();
          await store.close();
        }
      } catch (err) {
        const e = err as Error & { code?: string };
        if (opts.json)
          io.out(
            `${JSON.stringify({ ok: false, error: { code: e.code ?? 'AUDIT_FAILED', message: e.message } })}\n`,
          );
        else io.err(`error: ${e.message}\n`);
        io.setExitCode(2);
        return;
      }
      if (opts.json) io.out(`${JSON.stringify(report)}\n`);
      else io.out(humanReport(report));
      io.setExitCode(report.ok ? 0 : 1);
    });
}

function parseOr<T>(cmd: Command, parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    return cmd.error(`error: ${(err as Error).message}`);
  }
}

function humanReport(r: AuditReport): string {
  const prefix = (s: { stored: number; derived: number; storedIsPrefix: boolean }) =>
    `${s.stored} stored, ${s.derived} re-derived${s.storedIsPrefix ? ' (stored is a prefix)' : ''}`;
  const lines = [
    `network            ${r.network ?? '-'} (${r.genesisHash ?? 'no genesis'})`,
    `events verified    ${r.eventsVerified} of ${r.shadowGraphEvents}`,
    `consensus          ${prefix(r.consensus)}`,
    `ledger             ${prefix(r.ledger)}`,
    `state roots        ${r.stateRootsChecked} checked`,
    `order hash         ${r.orderHash} at index ${r.orderHashIndex}`,
    `forks              ${r.forks.length}`,
    `notices            ${r.notices.length}`,
    `rate               ${Math.round(r.eventsPerSec)} events/s in ${r.seconds.toFixed(2)} s`,
  ];
  if (r.readModels)
    lines.push(
      `read models        ${r.readModels.rowsCompared} rows compared at checkpoint ${r.readModels.checkpoint}`,
    );
  if (r.bench) {
    const b = r.bench;
    const mainCpu =
      b.mainThreadCpuSeconds === null ? '' : ` (main thread ${b.mainThreadCpuSeconds.toFixed(2)} s)`;
    const fig = (f: { eventsPerSec: number; ratio: number }) =>
      `${Math.round(f.eventsPerSec)} events/s (ratio ${f.ratio.toFixed(2)})`;
    lines.push(
      `signatures         ${b.eventSignatures} events + ${b.payloadSignatures} payloads; audit CPU ${b.auditCpuSeconds.toFixed(2)} s${mainCpu}`,
      `verify bound       ${fig(b.bound)}: all signatures, ${b.threads} worker thread(s)`,
      `  one thread       ${fig(b.oneThread)}; CPU ${b.oneThread.cpuSeconds.toFixed(2)} s (ratio ${b.oneThread.cpuRatio.toFixed(2)})`,
      `  events only      ${fig(b.eventSignaturesOneThread)}: the bound reported before, one thread`,
    );
  }
  for (const f of r.forks)
    lines.push(`fork               ${f.creator.slice(0, 16)} seq ${f.seq}: ${f.eventIds.join(' ')}`);
  for (const m of r.mismatches) lines.push(`MISMATCH ${m.kind} ${m.stream}@${m.position}: ${m.detail}`);
  if (r.mismatchCount > r.mismatches.length)
    lines.push(`… and ${r.mismatchCount - r.mismatches.length} more mismatches`);
  lines.push(r.ok ? 'ok' : `FAILED: ${r.mismatchCount} mismatches`);
  return `${lines.join('\n')}\n`;
}
