/**
 * Preload for a sandbox child process (`node --import tsx --import ./test/helpers/capture-random-keys.ts …`):
 * records every 32-byte `crypto.randomBytes` result (the approval signing key is one) as hex, one a line, in
 * the file named by CAPTURE_RANDOM_KEYS_FILE, so a test can look for the secret in everything the run printed
 * and wrote. Nothing is printed.
 */
import { appendFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';

const file = process.env.CAPTURE_RANDOM_KEYS_FILE;
if (file) {
  const require = createRequire(import.meta.url);
  const crypto = require('node:crypto') as typeof import('node:crypto');
  const original = crypto.randomBytes;
  const wrapped = ((size: number, callback?: (err: Error | null, buf: Buffer) => void) => {
    if (callback) return original(size, callback);
    const bytes = original(size);
    if (size === 32) appendFileSync(file, `${bytes.toString('hex')}\n`);
    return bytes;
  }) as typeof crypto.randomBytes;
  crypto.randomBytes = wrapped;
  syncBuiltinESMExports();
}
