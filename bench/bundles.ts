/**
 * `npm run bench -- bundles [--runs N] [--busy] [--json] [--maps]`: what the controller's own code adds to each
 * Lambda, in bytes and in cold start, against what its libraries cost.
 *
 * Each handler is bundled as `cdk synth` bundles it (infra/bundling.ts: esbuild, minified ESM for Node 22, linked
 * source map without sources), and beside it a twin: a handler that imports exactly the library exports the
 * handler's bundle keeps (the SDK clients and commands, Powertools, middy) and does nothing. The twin is generated
 * from the handler's own build, not kept by hand: esbuild's metafile names the controller's modules in the bundle
 * and which packages they import; each such module's import statements (types stripped) give the names. Validation
 * (valibot in the handlers, zod in publish-configs) is the controller's own code here, not a library the twin takes.
 *
 * Bytes are the bundle's `.mjs` (the `.map` beside it is reported apart). Cold import is the time for a fresh Node
 * process, run as deployed (`--enable-source-maps`), to import the bundle (module top level included), handler
 * and twin alternated run by run so machine load hits both alike; medians. `--busy` runs a CPU-bound process
 * beside the measurements. `--maps` instead compares each bundle without a source map, with a full one and with
 * one without `sourcesContent`.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { type BuildOptions, build, type Metafile, type Plugin, transformSync } from 'esbuild';
import { esbuildOptions, SHARED_HANDLER_MODULES } from '../infra/bundling';

const ENV = {
  AWS_REGION: 'us-east-1',
  AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
  AWS_SECRET_ACCESS_KEY: 'example',
  TABLE_NAME: 'rollouts',
  STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:rollouts',
  CONFIG_TABLE_NAME: 'service-configs',
  APPROVAL_SIGNING_SECRET_ARN: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:sign-AbCdEf',
  POWERTOOLS_TRACE_ENABLED: 'false',
  POWERTOOLS_METRICS_DISABLED: 'true',
  POWERTOOLS_LOG_LEVEL: 'SILENT',
};

/** The packages a twin takes: what any Lambda on the SDK with Powertools and middy would bundle. */
const LIBRARY = /^(@aws-sdk\/|@aws-lambda-powertools\/|@middy\/)/;

/** The ceiling: a handler's bundle and its median cold import at most this many times its twin's. */
export const MAX_RATIO = 1.15;

/** The deployed handlers: functions/handlers/*.ts but the shared modules. */
export function handlerNames(root = '.'): string[] {
  return readdirSync(join(root, 'functions/handlers'))
    .filter((f) => f.endsWith('.ts') && !SHARED_HANDLER_MODULES.includes(f))
    .map((f) => basename(f, '.ts'))
    .sort();
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

/** The package a resolved file belongs to (`@scope/name` or `name`), undefined for the controller's own code. */
function packageOf(file: string): string | undefined {
  return /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(file)?.[1];
}

/** A bare specifier's package (`@aws-sdk/client-s3/foo` → `@aws-sdk/client-s3`). */
function specifierPackage(specifier: string): string {
  const parts = specifier.split('/');
  return (specifier.startsWith('@') ? parts.slice(0, 2) : parts.slice(0, 1)).join('/');
}

interface LibraryImport {
  specifier: string;
  /** `default`, `*` or an export name; none for a side-effect import. */
  names: string[];
}

const importsByFile = new Map<string, LibraryImport[]>();

/** A module's value imports of library packages, types stripped (an import only used as a type is gone). */
function libraryImportsOf(file: string): LibraryImport[] {
  const known = importsByFile.get(file);
  if (known) return known;
  const js = transformSync(readFileSync(file, 'utf8'), { loader: 'ts', format: 'esm' }).code;
  const found: LibraryImport[] = [];
  for (const m of js.matchAll(/^import\s+(?:([^;"]+?)\s+from\s+)?"([^"]+)";$/gm)) {
    const [, clause, specifier] = m as unknown as [string, string | undefined, string];
    if (!LIBRARY.test(specifier)) continue;
    const names: string[] = [];
    for (const part of (clause ?? '').match(/\{[^}]*\}|\*\s+as\s+\w+|[\w$]+/g) ?? []) {
      if (part.startsWith('{')) {
        for (const item of part.slice(1, -1).split(',')) {
          const name = item.trim().split(/\s+as\s+/)[0];
          if (name) names.push(name);
        }
      } else names.push(part.startsWith('*') ? '*' : 'default');
    }
    found.push({ specifier, names });
  }
  importsByFile.set(file, found);
  return found;
}

/**
 * The twin of a handler bundle: the library imports of every controller module with code in the bundle, from
 * packages with code in the bundle (a client imported by functions/handlers/aws.ts but tree-shaken away is not
 * taken), kept alive by an export and otherwise unused.
 */
export function twinSource(output: Metafile['outputs'][string], root: string): string {
  const kept = Object.entries(output.inputs).filter(([, v]) => v.bytesInOutput > 0);
  const packages = new Set(kept.map(([f]) => packageOf(f)).filter((p) => p !== undefined));
  const wanted = new Map<string, Set<string>>();
  for (const [file] of kept) {
    if (packageOf(file) !== undefined || !/\.[cm]?tsx?$|\.[cm]?js$/.test(file)) continue;
    for (const { specifier, names } of libraryImportsOf(resolve(root, file))) {
      if (!packages.has(specifierPackage(specifier))) continue;
      const set = wanted.get(specifier) ?? new Set<string>();
      for (const n of names) set.add(n);
      wanted.set(specifier, set);
    }
  }
  const lines: string[] = [];
  const locals: string[] = [];
  for (const [specifier, names] of [...wanted].sort(([a], [b]) => a.localeCompare(b))) {
    const s = JSON.stringify(specifier);
    if (names.size === 0) lines.push(`import ${s};`);
    for (const name of [...names].sort()) {
      const local = `l${locals.length}`;
      locals.push(local);
      if (name === 'default') lines.push(`import ${local} from ${s};`);
      else if (name === '*') lines.push(`import * as ${local} from ${s};`);
      else lines.push(`import { ${name} as ${local} } from ${s};`);
    }
  }
  lines.push(`export const libraries = [${locals.join(', ')}];`, 'export const handler = async () => ({});');
  return `${lines.join('\n')}\n`;
}

export interface BundlePair {
  handler: string;
  bytes: number;
  mapBytes: number;
  twinBytes: number;
  twinMapBytes: number;
  /** Bytes of the packages in the handler's bundle but not in its twin's (the validators), by package. */
  ownPackageBytes: Record<string, number>;
  /** Library packages in the handler's bundle but not in the twin's (none when the twin is faithful). */
  missingFromTwin: string[];
  /** The controller's own modules (and its validators') with the most bytes in the handler's bundle. */
  largestOwn: { file: string; bytes: number }[];
  /** Every controller module with code in the handler's bundle (`functions/core/plan.ts`). */
  ownModules: string[];
  handlerFile: string;
  twinFile: string;
}

/**
 * Bundles every handler and its twin (two esbuild builds, each over all handlers). With `outdir` the bundles and
 * maps are written there (handler/<name>.mjs, twin/<name>.mjs); without, they stay in memory. `sourcemap: false`
 * skips the maps (the bundle then lacks only its `//# sourceMappingURL` line).
 */
export async function buildPairs(
  options: { outdir?: string; root?: string; sourcemap?: boolean } = {},
): Promise<BundlePair[]> {
  const root = resolve(options.root ?? '.');
  const names = handlerNames(root);
  const write = options.outdir !== undefined;
  const outdir = options.outdir ?? join(tmpdir(), 'canary-bundles-virtual');
  const common: BuildOptions = {
    ...esbuildOptions(),
    absWorkingDir: root,
    metafile: true,
    write,
    entryNames: '[name]',
    outExtension: { '.js': '.mjs' },
    ...(options.sourcemap === false ? { sourcemap: false } : {}),
  };
  const handlers = await build({
    ...common,
    entryPoints: names.map((n) => `functions/handlers/${n}.ts`),
    outdir: join(outdir, 'handler'),
  });
  const outputOf = (meta: Metafile | undefined, name: string) => {
    const hit = Object.entries(meta?.outputs ?? {}).find(
      ([file, o]) => o.entryPoint !== undefined && basename(file) === `${name}.mjs`,
    );
    if (!hit) throw new Error(`no bundle for ${name}`);
    return hit;
  };
  const sources = new Map(names.map((n) => [n, twinSource(outputOf(handlers.metafile, n)[1], root)]));
  const twinPlugin: Plugin = {
    name: 'twins',
    setup(b) {
      b.onResolve({ filter: /^twin:/ }, (a) => ({ path: a.path.slice(5), namespace: 'twin' }));
      b.onLoad({ filter: /.*/, namespace: 'twin' }, (a) => ({
        contents: sources.get(a.path) ?? '',
        loader: 'js',
        resolveDir: root,
      }));
    },
  };
  const twins = await build({
    ...common,
    entryPoints: Object.fromEntries(names.map((n) => [n, `twin:${n}`])),
    outdir: join(outdir, 'twin'),
    plugins: [twinPlugin],
  });
  const sizes = (result: { outputFiles?: { path: string; contents: Uint8Array }[] }, file: string) => {
    const abs = resolve(root, file);
    const size = (f: string) =>
      write
        ? existsSync(f)
          ? statSync(f).size
          : 0
        : (result.outputFiles?.find((o) => o.path === f)?.contents.length ?? 0);
    return { bytes: size(abs), mapBytes: size(`${abs}.map`), file: abs };
  };
  return names.map((name) => {
    const [hFile, hOut] = outputOf(handlers.metafile, name);
    const [tFile, tOut] = outputOf(twins.metafile, name);
    const packagesIn = (o: typeof hOut) =>
      new Set(
        Object.entries(o.inputs)
          .filter(([, v]) => v.bytesInOutput > 0)
          .map(([f]) => packageOf(f))
          .filter((p) => p !== undefined),
      );
    const twinPackages = packagesIn(tOut);
    const h = sizes(handlers, hFile);
    const t = sizes(twins, tFile);
    return {
      handler: name,
      bytes: h.bytes,
      mapBytes: h.mapBytes,
      twinBytes: t.bytes,
      twinMapBytes: t.mapBytes,
      ownPackageBytes: Object.entries(hOut.inputs).reduce<Record<string, number>>((acc, [f, v]) => {
        const p = packageOf(f);
        if (p !== undefined && !twinPackages.has(p) && v.bytesInOutput > 0)
          acc[p] = (acc[p] ?? 0) + v.bytesInOutput;
        return acc;
      }, {}),
      missingFromTwin: [...packagesIn(hOut)].filter((p) => LIBRARY.test(`${p}/`) && !twinPackages.has(p)),
      largestOwn: Object.entries(hOut.inputs)
        .filter(([f]) => !twinPackages.has(packageOf(f) ?? ''))
        .map(([f, v]) => ({ file: f.replace(/^.*node_modules\//, ''), bytes: v.bytesInOutput }))
        .sort((a, b) => b.bytes - a.bytes)
        .slice(0, 5),
      ownModules: Object.entries(hOut.inputs)
        .filter(([f, v]) => packageOf(f) === undefined && v.bytesInOutput > 0)
        .map(([f]) => f)
        .sort(),
      handlerFile: h.file,
      twinFile: t.file,
    };
  });
}

/** One fresh Node process importing `file`: the import's wall time and the CPU time the process spent on it. */
function importTimes(file: string, nodeOptions: readonly string[] = []): { wallMs: number; cpuMs: number } {
  const script =
    'const c=process.cpuUsage(),t=performance.now();' +
    `await import(${JSON.stringify(file)});` +
    'const w=performance.now()-t,u=process.cpuUsage(c);' +
    'process.stdout.write(JSON.stringify({wallMs:w,cpuMs:(u.user+u.system)/1000}))';
  const out = execFileSync(process.execPath, [...nodeOptions, '--input-type=module', '-e', script], {
    env: { ...process.env, ...ENV },
  }).toString();
  return JSON.parse(out) as { wallMs: number; cpuMs: number };
}

function importMs(file: string, nodeOptions: readonly string[] = []): number {
  return importTimes(file, nodeOptions).wallMs;
}

/** A process that keeps one core busy until killed. */
function busyProcess(): ChildProcess {
  return spawn(process.execPath, ['-e', 'for(;;){Math.sqrt(Math.random())}'], { stdio: 'ignore' });
}

const round2 = (x: number) => Math.round(x * 100) / 100;

async function twinsBench(runs: number, json: boolean, busy: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-bundles-'));
  const pairs = await buildPairs({ outdir: dir });
  type Samples = { handler: number[]; twin: number[]; handlerCpu: number[]; twinCpu: number[] };
  const times = new Map<string, Samples>(
    pairs.map((p) => [p.handler, { handler: [], twin: [], handlerCpu: [], twinCpu: [] }]),
  );
  // Handler and twin alternate (and swap order each run), handlers interleaved: load hits all alike.
  for (let run = 0; run < runs; run++) {
    for (const p of pairs) {
      const t = times.get(p.handler) as Samples;
      const order = run % 2 === 0 ? (['handler', 'twin'] as const) : (['twin', 'handler'] as const);
      for (const which of order) {
        const m = importTimes(which === 'handler' ? p.handlerFile : p.twinFile, ['--enable-source-maps']);
        t[which].push(m.wallMs);
        t[which === 'handler' ? 'handlerCpu' : 'twinCpu'].push(m.cpuMs);
      }
    }
  }
  const rows = pairs.map((p) => {
    const t = times.get(p.handler) as Samples;
    const ms = median(t.handler);
    const twinMs = median(t.twin);
    const cpuMs = median(t.handlerCpu);
    const twinCpuMs = median(t.twinCpu);
    return {
      handler: p.handler,
      bytes: p.bytes,
      twinBytes: p.twinBytes,
      bytesRatio: round2(p.bytes / p.twinBytes),
      mapBytes: p.mapBytes,
      twinMapBytes: p.twinMapBytes,
      importMs: Math.round(ms * 10) / 10,
      twinImportMs: Math.round(twinMs * 10) / 10,
      importRatio: round2(ms / twinMs),
      importCpuMs: Math.round(cpuMs * 10) / 10,
      twinImportCpuMs: Math.round(twinCpuMs * 10) / 10,
      importCpuRatio: round2(cpuMs / twinCpuMs),
      ownPackageBytes: p.ownPackageBytes,
      missingFromTwin: p.missingFromTwin,
      largestOwn: p.largestOwn,
    };
  });
  const summary = {
    runs,
    busy,
    maxRatio: MAX_RATIO,
    worstBytesRatio: Math.max(...rows.map((r) => r.bytesRatio)),
    worstImportRatio: Math.max(...rows.map((r) => r.importRatio)),
    worstImportCpuRatio: Math.max(...rows.map((r) => r.importCpuRatio)),
    medianImportRatio: round2(median(rows.map((r) => r.importRatio))),
    medianImportCpuRatio: round2(median(rows.map((r) => r.importCpuRatio))),
  };
  if (json) {
    process.stdout.write(`${JSON.stringify({ ...summary, handlers: rows })}\n`);
    return;
  }
  const pad = (x: unknown, n: number) => String(x).padStart(n);
  const validatorBytes = (r: { ownPackageBytes: Record<string, number> }) =>
    Object.values(r.ownPackageBytes).reduce((a, b) => a + b, 0);
  process.stdout.write(
    [
      'Lambda bundles as deployed (esbuild, minified ESM, node22, linked map without sources) beside a twin that',
      `imports the same SDK, Powertools and middy exports and does nothing; cold import: median of ${runs} fresh`,
      `processes each (--enable-source-maps), handler and twin alternated${busy ? ', beside a CPU-bound process' : ''}`,
      `(load average ${loadavg()[0]?.toFixed(1)} at the start on ${cpus().length} cores)`,
      '',
      '                              bytes                    |        wall ms          |         CPU ms',
      'handler             handler     twin  ×twin  valid.   | handler   twin  ×twin   | handler   twin  ×twin',
      ...rows.map(
        (r) =>
          `${r.handler.padEnd(16)} ${pad(r.bytes, 10)} ${pad(r.twinBytes, 8)}  ${pad(r.bytesRatio.toFixed(2), 5)}  ${pad(validatorBytes(r), 6)}   | ` +
          `${pad(r.importMs.toFixed(1), 7)} ${pad(r.twinImportMs.toFixed(1), 6)}  ${pad(r.importRatio.toFixed(2), 5)}   | ` +
          `${pad(r.importCpuMs.toFixed(1), 7)} ${pad(r.twinImportCpuMs.toFixed(1), 6)}  ${pad(r.importCpuRatio.toFixed(2), 5)}` +
          (r.missingFromTwin.length > 0 ? `  twin lacks ${r.missingFromTwin.join(', ')}` : ''),
      ),
      '',
      `bytes: worst ×${summary.worstBytesRatio.toFixed(2)}, ×${Math.max(...rows.map((r) => (r.bytes - validatorBytes(r)) / r.twinBytes)).toFixed(2)} without the validators; ` +
        `cold import: median ×${summary.medianImportRatio.toFixed(2)} wall (worst ×${summary.worstImportRatio.toFixed(2)}), ` +
        `×${summary.medianImportCpuRatio.toFixed(2)} CPU (worst ×${summary.worstImportCpuRatio.toFixed(2)}); ceiling ×${MAX_RATIO}`,
      `source maps (linked, no sources) are not in the bytes: ${Math.min(...rows.map((r) => r.mapBytes))}–${Math.max(...rows.map((r) => r.mapBytes))} bytes beside each handler; both import under --enable-source-maps`,
      '',
    ].join('\n'),
  );
}

/** How a bundle is built and run: the source map (none, linked, linked without sources) and Node's flag for it. */
const VARIANTS = [
  { name: 'none', sourcemap: false, sourcesContent: true, nodeOptions: [] },
  { name: 'maps', sourcemap: true, sourcesContent: true, nodeOptions: ['--enable-source-maps'] },
  { name: 'mapsNoSources', sourcemap: true, sourcesContent: false, nodeOptions: ['--enable-source-maps'] },
] as const;
type VariantName = (typeof VARIANTS)[number]['name'];

/** Each bundle without a source map, with a full one and with one without sources, imported side by side. */
async function mapsBench(runs: number, json: boolean, busy: boolean): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'canary-bundles-'));
  const empty = join(dir, 'empty.mjs');
  writeFileSync(empty, 'export const handler = async () => ({});\n');
  const names = handlerNames();
  const builds = {} as Record<VariantName, Record<string, { file: string; bytes: number; mapBytes: number }>>;
  for (const v of VARIANTS) {
    const outdir = join(dir, v.name);
    mkdirSync(outdir, { recursive: true });
    await build({
      ...esbuildOptions(),
      entryPoints: names.map((n) => `functions/handlers/${n}.ts`),
      entryNames: '[name]',
      outExtension: { '.js': '.mjs' },
      outdir,
      sourcemap: v.sourcemap ? 'linked' : false,
      sourcesContent: v.sourcesContent,
    });
    builds[v.name] = Object.fromEntries(
      names.map((n) => {
        const file = join(outdir, `${n}.mjs`);
        return [
          n,
          { file, bytes: statSync(file).size, mapBytes: v.sourcemap ? statSync(`${file}.map`).size : 0 },
        ];
      }),
    );
  }
  const times = new Map<string, number[]>();
  const baseline: number[] = [];
  for (let run = 0; run < runs; run++) {
    baseline.push(importMs(empty));
    for (const n of names) {
      for (const v of VARIANTS) {
        const list = times.get(`${n}/${v.name}`) ?? [];
        list.push(importMs((builds[v.name][n] as { file: string }).file, v.nodeOptions));
        times.set(`${n}/${v.name}`, list);
      }
    }
  }
  const base = median(baseline);
  const out = names.map((n) => {
    const ms = (v: VariantName) => median(times.get(`${n}/${v}`) ?? []);
    const none = ms('none');
    return {
      handler: n,
      bytes: builds.none[n]?.bytes ?? 0,
      mapBytes: builds.maps[n]?.mapBytes ?? 0,
      mapNoSourcesBytes: builds.mapsNoSources[n]?.mapBytes ?? 0,
      medianImportMs: Math.round(none),
      vsEmptyModule: Math.round((none / base) * 10) / 10,
      withMapsMs: Math.round(ms('maps')),
      withMapsNoSourcesMs: Math.round(ms('mapsNoSources')),
      mapsRatio: round2(ms('maps') / none),
      mapsNoSourcesRatio: round2(ms('mapsNoSources') / none),
    };
  });
  const ratio = (f: (o: (typeof out)[number]) => number) => round2(median(out.map(f)));
  const summary = {
    runs,
    busy,
    emptyModuleMedianMs: Math.round(base * 10) / 10,
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
}

export async function bundlesBench(args: string[]): Promise<void> {
  const json = args.includes('--json');
  const i = args.indexOf('--runs');
  const busy = args.includes('--busy') ? busyProcess() : undefined;
  try {
    if (args.includes('--maps')) await mapsBench(i >= 0 ? Number(args[i + 1]) : 5, json, busy !== undefined);
    else await twinsBench(i >= 0 ? Number(args[i + 1]) : 21, json, busy !== undefined);
  } finally {
    busy?.kill();
  }
}
