import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fromHex, publicKeyOf } from '../../../domain/crypto/index.js';
import { dagger, onlyJson, tempDir } from './support.js';

describe('dagger keygen', () => {
  it('writes {"publicKey","secretKey"} in hex to --out (0600) and refuses to overwrite it', async () => {
    const out = join(tempDir(), 'k.json');
    const r = await dagger(['keygen', '--out', out]);
    const key = JSON.parse(readFileSync(out, 'utf8')) as { publicKey: string; secretKey: string };
    expect(Object.keys(key).sort()).toEqual(['publicKey', 'secretKey']);
    expect(key.secretKey).toMatch(/^[0-9a-f]{64}$/);
    expect(Buffer.from(publicKeyOf(fromHex(key.secretKey))).toString('hex')).toBe(key.publicKey);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(onlyJson(r.out)).toEqual({ publicKey: key.publicKey, out });
    const again = await dagger(['keygen', '--out', out]);
    expect(again.exitCode).toBe(1);
    expect(again.err).toContain('refusing to overwrite');
  });
});
