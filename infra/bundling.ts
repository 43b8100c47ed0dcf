/**
 * How every Lambda is bundled (esbuild through the CDK's NodejsFunction, infra/controller-function.ts), in one
 * place so the benchmark and the bundle tests build exactly what is deployed. No CDK import: the tests and
 * `npm run bench -- bundles` read it without loading aws-cdk-lib.
 */
import type { BuildOptions } from 'esbuild';

/** The handlers deployed as functions (functions/handlers/<name>.ts); the other files there are shared. */
export const SHARED_HANDLER_MODULES = [
  'aws.ts',
  'env.ts',
  'observability.ts',
  'approval-links.ts',
  'catalog.ts',
];

export const BUNDLING = {
  minify: true,
  target: 'node22',
  // ESM (NodejsFunction's OutputFormat.ESM), preferring packages' ES module builds (smaller, tree-shakable).
  format: 'esm',
  mainFields: ['module', 'main'],
  // Stack traces in the logs name the TypeScript file and line (NODE_OPTIONS --enable-source-maps). The map is
  // linked (a .map file beside the bundle) and carries positions only, not the sources: Node maps a stack trace
  // without them, and importing a bundle with a full map cost ×1.25 (median over the handlers) against ×1.15
  // without sources (`npm run bench -- bundles --maps`).
  sourceMap: true,
  sourcesContent: false,
  // The SDK v3 clients are bundled (tree-shaken), not taken from the runtime: the versions in package-lock.json
  // are the ones tested, and a runtime SDK update cannot change behaviour under us.
  externalModules: [] as string[],
  // CommonJS dependencies inside an ESM bundle still call require() for Node built-ins.
  banner: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);",
} as const;

/** The esbuild options NodejsFunction derives from BUNDLING (platform node, bundle, linked source map). */
export function esbuildOptions(): BuildOptions {
  return {
    bundle: true,
    platform: 'node',
    minify: BUNDLING.minify,
    target: BUNDLING.target,
    format: BUNDLING.format,
    mainFields: [...BUNDLING.mainFields],
    sourcemap: BUNDLING.sourceMap ? 'linked' : false,
    sourcesContent: BUNDLING.sourcesContent,
    external: [...BUNDLING.externalModules],
    banner: { js: BUNDLING.banner },
    logLevel: 'silent',
  };
}
