/**
 * `npm run bench -- bundles [--runs N] [--busy] [--json]`: each Lambda's bundle as `cdk synth` builds it (esbuild,
 * minified ESM for Node 22), its size, and its cold start: the median time for a fresh Node process to import
 * it (module top level included: clients and adapters are built there), next to an empty module's import.
 *
 * Each bundle is built three ways and imported side by side in the same run: without a source map, with a linked
 * source map imported under `--enable-source-maps` (what the deployed functions run), and the same without
 * `sourcesContent` (the map names files and positions but carries no sources). `--busy` runs a CPU-bound process
 * beside the measurements, as a loaded host would.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
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

/** How a bundle is built and run: the source map (none, linked, linked without sources) and Node's flag for it. */
const VARIANTS = [
  { name: 'none', sourcemap: false, sourcesContent: true, nodeOptions: [] },
  { name: 'maps', sourcemap: true, sourcesContent: true, nodeOptions: ['--enable-source-maps'] },
  { name: 'mapsNoSources', sourcemap: true, sourcesContent: false, nodeOptions: ['--enable-source-maps'] },
] as const;
type VariantName = (typeof VARIANTS)[number]['name'];

function importMs(file: string, nodeOptions: readonly string[] = []): number {
  const script = `const t=performance.now();await import(${JSON.stringify(file)});process.stdout.write(String(performance.now()-t))`;
  return Number(
    execFileSync(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], {
      env: { ...process.env, ...ENV },
    }).toString(),
  );
}

/** A process that keeps one core busy until killed. */
function busyProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for(;;){Math.sqrt(Math.random())}'], { stdio: 'ignore' });
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
  const busy = args.includes('--busy') ? busyProcess() : undefined;
  try {
    const rows = handlers.map((name) => ({
      name,
      builds: Object.fromEntries(
        VARIANTS.map((v) => {
          const outfile = join(dir, v.name, `${name}.mjs`);
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
            // NodejsFunction's sourceMap: true is esbuild's linked map (a .map file beside the bundle).
            ...(v.sourcemap ? { sourcemap: 'linked' as const, sourcesContent: v.sourcesContent } : {}),
            banner: {
              js: "import { createRequire } from 'module';const require = createRequire(import.meta.url);",
            },
            logLevel: 'silent',
          });
          const mapBytes = v.sourcemap ? statSync(`${outfile}.map`).size : 0;
          return [v.name, { outfile, bytes: statSync(outfile).size, mapBytes }];
        }),
      ) as Record<VariantName, { outfile: string; bytes: number; mapBytes: number }>,
    }));
    // Interleave handlers, variants and the empty module run by run, so machine noise hits all alike.
    const times = new Map<string, number[]>();
    const key = (name: string, v: VariantName) => `${name}/${v}`;
    const baseline: number[] = [];
    for (let run = 0; run < runs; run++) {
      baseline.push(importMs(empty));
      for (const r of rows) {
        for (const v of VARIANTS) {
          const list = times.get(key(r.name, v.name)) ?? [];
          list.push(importMs(r.builds[v.name].outfile, v.nodeOptions));
          times.set(key(r.name, v.name), list);
        }
      }
    }
    const base = median(baseline);
    const round1 = (x: number) => Math.round(x * 10) / 10;
    const round2 = (x: number) => Math.round(x * 100) / 100;
    const out = rows.map((r) => {
      const ms = (v: VariantName) => median(times.get(key(r.name, v)) ?? []);
      const none = ms('none');
      return {
        handler: r.name,
        bytes: r.builds.none.bytes,
        mapBytes: r.builds.maps.mapBytes,
        mapNoSourcesBytes: r.builds.mapsNoSources.mapBytes,
        medianImportMs: Math.round(none),
        vsEmptyModule: round1(none / base),
        withMapsMs: Math.round(ms('maps')),
        withMapsNoSourcesMs: Math.round(ms('mapsNoSources')),
        mapsRatio: round2(ms('maps') / none),
        mapsNoSourcesRatio: round2(ms('mapsNoSources') / none),
      };
    });
    const ratio = (f: (o: (typeof out)[number]) => number) => round2(median(out.map(f)));
    const summary = {
      runs,
      busy: busy !== undefined,
      emptyModuleMedianMs: round1(base),
      medianMapsRatio: ratio((o) => o.mapsRatio),
      medianMapsNoSourcesRatio: ratio((o) => o.mapsNoSourcesRatio),
    };
    if (json) {
      process.stdout.write(`${JSON.stringify({ ...summary, handlers: out })}\n`);
      return;
    }
    process.stdout.write(
      [
        `Lambda bundles (esbuild, minified ESM, node22) and cold import, median of ${runs} fresh processes` +
          (busy ? ', beside a CPU-bound process' : ''),
        `an empty module imports in ${base.toFixed(1)} ms; import with source maps (--enable-source-maps) vs without`,
        '',
        'handler            bytes   map bytes   import ms  × empty   maps ms  ×none   no-sources ms  ×none',
        ...out.map(
          (r) =>
            `${r.handler.padEnd(16)} ${String(r.bytes).padStart(9)} ${String(r.mapBytes).padStart(11)}  ${String(r.medianImportMs).padStart(8)}  ${String(r.vsEmptyModule).padStart(7)}  ${String(r.withMapsMs).padStart(8)}  ${String(r.mapsRatio).padStart(5)}  ${String(r.withMapsNoSourcesMs).padStart(13)}  ${String(r.mapsNoSourcesRatio).padStart(5)}`,
        ),
        '',
        `median ratio over handlers: source maps ×${summary.medianMapsRatio}, without sourcesContent ×${summary.medianMapsNoSourcesRatio}`,
        '',
      ].join('\n'),
    );
  } finally {
    busy?.kill();
  }
}
