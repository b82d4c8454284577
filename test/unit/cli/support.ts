import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CommanderError } from 'commander';
import { signerFromSecretKey, toHex } from '../../../domain/crypto/index.js';
import type { CliIo } from '../../../src/cli/io.js';
import { buildProgram } from '../../../src/cli/program.js';

export interface CliRun {
  readonly out: string;
  readonly err: string;
  readonly exitCode: number | undefined;
  readonly error?: CommanderError;
}

/** Runs `dagger ARGS` in-process with captured stdout/stderr. */
export async function dagger(args: string[]): Promise<CliRun> {
  const out: string[] = [];
  const err: string[] = [];
  let code: number | undefined;
  const io: CliIo = {
    out: (t) => void out.push(t),
    err: (t) => void err.push(t),
    stdoutIsTTY: false,
    stderrIsTTY: false,
    columns: 100,
    setExitCode: (c) => {
      code = c;
    },
    interrupted: () => Promise.resolve(),
  };
  const program = buildProgram(io);
  const override = (c: typeof program): void => {
    c.exitOverride();
    for (const sub of c.commands) override(sub);
  };
  override(program);
  try {
    await program.parseAsync(args, { from: 'user' });
  } catch (error) {
    if (!(error instanceof CommanderError)) throw error;
    return { out: out.join(''), err: err.join(''), exitCode: code, error };
  }
  return { out: out.join(''), err: err.join(''), exitCode: code };
}

export const tempDir = (): string => mkdtempSync(join(tmpdir(), 'dagger-cli-'));

/** Writes a key file as `dagger keygen` does, from a fixed seed. */
export function keyFile(dir: string, seed: number): { path: string; publicKey: string } {
  const secret = new Uint8Array(32).fill(seed);
  const publicKey = toHex(signerFromSecretKey(secret).publicKey);
  const path = join(dir, `key-${seed}.json`);
  writeFileSync(path, JSON.stringify({ publicKey, secretKey: toHex(secret) }));
  return { path, publicKey };
}

/** One JSON object and nothing else. */
export function onlyJson(out: string): Record<string, unknown> {
  const lines = out.trim().split('\n');
  expect(lines).toHaveLength(1);
  return JSON.parse(lines[0]!) as Record<string, unknown>;
}
