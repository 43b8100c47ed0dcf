/**
 * Secrets never leave the process: a full sandbox run (scenario errors: a rollback that pages) with everything it
 * prints and writes captured — stdout, stderr, report.json and report.html — holds neither the PagerDuty routing
 * key, nor any Step Functions task token, nor the approval signing key (captured from inside the child process
 * by a preload that records every 32-byte `crypto.randomBytes` result, in hex, base64 and base64url).
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SANDBOX_ROUTING_KEY } from '../../sandbox/world';

const ROOT = resolve(import.meta.dirname, '../..');
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function run(
  args: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done, fail) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--import', './test/helpers/capture-random-keys.ts', 'sandbox/main.ts', ...args],
      { cwd: ROOT, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => {
      stdout += s;
    });
    child.stderr.setEncoding('utf8').on('data', (s: string) => {
      stderr += s;
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), 50_000);
    child.on('error', fail);
    child.on('close', (code) => {
      clearTimeout(timer);
      done({ code, stdout, stderr });
    });
  });
}

describe('secrets in a full sandbox run', () => {
  it('the routing key, task tokens and the approval signing key appear in no output and no report', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'canary-secrets-'));
    dirs.push(dir);
    const keysFile = join(dir, 'random-keys.txt');
    const reportDir = join(dir, 'report');
    const { code, stdout, stderr } = await run(
      ['--scenario', 'errors', '--traffic', 'synthetic', '--scale', '60', '--report-dir', reportDir],
      {
        CAPTURE_RANDOM_KEYS_FILE: keysFile,
        CANARY_SANDBOX_FILE: join(dir, 'sandbox.json'),
        POWERTOOLS_LOG_LEVEL: 'DEBUG',
      },
    );
    expect(code, stderr).toBe(0);

    const reports = readdirSync(reportDir).sort();
    expect(reports).toEqual(['report.html', 'report.json']);
    const outputs: Record<string, string> = { stdout, stderr };
    for (const f of reports) outputs[f] = readFileSync(join(reportDir, f), 'utf8');

    // The run did what makes the secrets matter: it rolled back and paged.
    expect(stdout).toMatch(/v3\s+rolledBack/);
    expect(stdout).toMatch(/Notifications received: \d+ SNS, [1-9]\d* PagerDuty/);
    expect(outputs['report.json']).toContain('"outcome"');

    // The approval signing key: one of the 32-byte random values the child drew.
    expect(existsSync(keysFile)).toBe(true);
    const keys = readFileSync(keysFile, 'utf8').split('\n').filter(Boolean);
    expect(keys.length).toBeGreaterThanOrEqual(1);
    const forms = keys.flatMap((hex) => {
      const b = Buffer.from(hex, 'hex');
      return [hex, hex.toUpperCase(), b.toString('base64'), b.toString('base64url'), b.toString('latin1')];
    });

    for (const [name, text] of Object.entries(outputs)) {
      expect(text, name).not.toContain(SANDBOX_ROUTING_KEY);
      expect(text, name).not.toMatch(/local-token-/);
      for (const secret of forms) expect(text.includes(secret), `${name} holds a signing key`).toBe(false);
    }
  }, 60_000);
});
