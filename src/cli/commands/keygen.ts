import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import type { Command } from 'commander';
import { publicKeyOf, toHex } from '../../../domain/crypto/index.js';
import type { CliIo } from '../io.js';

export interface KeyFile {
  readonly publicKey: string;
  readonly secretKey: string;
}

/** A fresh ed25519 key pair: 32 random bytes of secret key (RFC 8032 seed) and its public key, in hex. */
export function generateKeyFile(): KeyFile {
  const secret = new Uint8Array(randomBytes(32));
  return { publicKey: toHex(publicKeyOf(secret)), secretKey: toHex(secret) };
}

export function registerKeygen(program: Command, io: CliIo): void {
  program
    .command('keygen')
    .description('generate an ed25519 key pair as {"publicKey","secretKey"} (hex)')
    .option('--out <file>', 'write the key pair to FILE (mode 0600, never overwrites) instead of stdout')
    .action((opts: { out?: string }) => {
      const key = generateKeyFile();
      const json = `${JSON.stringify(key, null, 2)}\n`;
      if (opts.out === undefined) {
        io.out(json);
        return;
      }
      try {
        writeFileSync(opts.out, json, { mode: 0o600, flag: 'wx' });
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        const why = code === 'EEXIST' ? 'file exists (refusing to overwrite a key)' : (err as Error).message;
        io.err(`error: cannot write ${opts.out}: ${why}\n`);
        io.setExitCode(1);
        return;
      }
      io.out(`${JSON.stringify({ publicKey: key.publicKey, out: opts.out })}\n`);
    });
}
