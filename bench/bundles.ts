/**
 * `npm run bench -- bundles [--runs N] [--json]`: each Lambda's bundle as `cdk synth` builds it (esbuild,
 * minified ESM for Node 22), its size, and its cold start: the median time for a fresh Node process to import
 * it (module top level included: clients and adapters are built there), next to an empty module's import.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { buildSync } from 'esbuild';

const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  TABLE_NAME: 'rollouts',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:rollouts',
  SERVICES_JSON: '[]',
  APPROVAL_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sign-AbCdEf',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function importMs(file: string): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  return Number(
    execFileSync(process.execPath, ['--input-type=module', '-e', script], {
      env: { ...process.env, ...ENV },
    }).toString(),
  );
}

export async function bundlesBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const i = args.indexOf('--runs');
  const runs = i >= 0 ? Number(args[i + 1]) : 5;
  const dir = mkdtempSync(join(tmpdir(), 'canary-bundles-'));
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => ({});\n');
  const handlers = readdirSync('functions/handlers')
    .filter(
      (f) => f.endsWith('.ts') && !['aws.ts', 'env.ts', 'observability.ts', 'approval-links.ts'].includes(f),
    )
    .map((f) => basename(f, '.ts'));
  const rows = handlers.map((name) => {
    const outfile = join(dir, `${name}.mjs`);
    buildSync({
      entryPoints: [`functions/handlers/${name}.ts`],
      bundle: true,
      minify: true,
      platform: 'node',
      format: 'esm',
      target: 'node22',
      // As the CDK's NodejsFunction bundles ESM: prefer packages' ES module builds (smaller, tree-shakable).
      mainFields: ['module', 'main'],
      outfile,
      banner: {
        js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
      },
      logLevel: 'silent',
    });
    return { name, bytes: statSync(outfile).size, outfile };
  });
  // Interleave handlers and the empty module run by run, so machine noise hits all alike.
  const times = new Map<string, number[]>(rows.map((r) => [r.name, []]));
  const baseline: number[] = [];
  for (let run = 0; run < runs; run++) {
    baseline.push(importMs(empty));
    for (const r of rows) times.get(r.name)?.push(importMs(r.outfile));
  }
  const base = median(baseline);
  const out = rows.map((r) => {
    const ms = median(times.get(r.name) ?? []);
    return {
      handler: r.name,
      bytes: r.bytes,
      medianImportMs: Math.round(ms),
      vsEmptyModule: Math.round((ms / base) * 10) / 10,
    };
  });
  if (json) {
    process.stdout.write(
      `${JSON.stringify({ runs, emptyModuleMedianMs: Math.round(base * 10) / 10, handlers: out })}\n`,
    );
    return;
  }
  process.stdout.write(
    [
      `Lambda bundles (esbuild, minified ESM, node22) and cold import, median of ${runs} fresh processes`,
      `an empty module imports in ${base.toFixed(1)} ms`,
      '',
      'handler            bytes   import ms  × empty',
      ...out.map(
        (r) =>
          `${r.handler.padEnd(16)} ${String(r.bytes).padStart(9)}  ${String(r.medianImportMs).padStart(8)}  ${String(r.vsEmptyModule).padStart(7)}`,
      ),
      '',
    ].join('\n'),
  );
}
