/**
 * What goes into a Lambda bundle: the handlers check their input with valibot (functions/core/valibot.ts) and
 * bundle no zod; publish-configs, which checks the service configs with the schema of synth, keeps zod tree-shaken:
 * zod/mini through functions/core/zod.ts (imported as a namespace), English its only locale; the full `zod` keeps
 * every schema method (about 95 KB), and a named `import { z }` of it pulls in every locale and the JSON Schema
 * code, about 350 KB more per function. SDK
 * clients are built on first use (functions/handlers/aws.ts, each marked pure) so a bundle keeps only the clients
 * its handler's adapters use: an unmarked one is kept in every bundle (ELBv2's is about 28 KB). Sizes are measured
 * in bench/bundles.ts; this only checks which modules are in.
 */
import { buildSync } from 'esbuild';
import { describe, expect, it } from 'vitest';

const built = new Map<string, { file: string; bytes: number }[]>();

/** The modules with code in a handler's bundle (built once per handler in this file). */
function inputsOf(handler: string): { file: string; bytes: number }[] {
  const known = built.get(handler);
  if (known) return known;
  const result = buildSync({
    entryPoints: [`functions/handlers/${handler}.ts`],
    bundle: true,
    minify: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    write: false,
    metafile: true,
    logLevel: 'silent',
  });
  const output = Object.values(result.metafile.outputs)[0];
  const inputs = Object.entries(output?.inputs ?? {})
    .filter(([, v]) => v.bytesInOutput > 0)
    .map(([file, v]) => ({ file, bytes: v.bytesInOutput }));
  built.set(handler, inputs);
  return inputs;
}

/** The SDK clients (`@aws-sdk/client-*` packages) with code in a bundle. */
function sdkClientsOf(inputs: { file: string }[]): string[] {
  const names = inputs.map((i) => /node_modules\/@aws-sdk\/(client-[^/]+)\//.exec(i.file)?.[1]);
  return [...new Set(names.filter((n) => n !== undefined))].sort();
}

describe('Lambda bundle contents', () => {
  it('publish-configs keeps zod tree-shaken: zod/mini, no locale but English, under 50 KB', () => {
    const zod = inputsOf('publish-configs').filter((i) => i.file.includes('node_modules/zod/'));
    expect(zod.length).toBeGreaterThan(0);
    expect(zod.filter((i) => /\/locales\/(?!en\.)/.test(i.file)).map((i) => i.file)).toEqual([]);
    expect(zod.filter((i) => i.file.includes('/classic/')).map((i) => i.file)).toEqual([]);
    // About 33 KB with zod/mini; the full zod brings about 95 KB, a named `import { z }` of it about 444 KB.
    expect(zod.reduce((a, i) => a + i.bytes, 0)).toBeLessThan(50 * 1024);
  });

  it.each(['analyze', 'start-rollout', 'approval-page', 'on-alarm'])(
    '%s checks its input with valibot alone: no zod, valibot under 16 KB',
    (handler) => {
      const inputs = inputsOf(handler);
      expect(inputs.filter((i) => i.file.includes('node_modules/zod/')).map((i) => i.file)).toEqual([]);
      const valibot = inputs.filter((i) => i.file.includes('node_modules/valibot/'));
      expect(valibot.length).toBeGreaterThan(0);
      expect(valibot.reduce((a, i) => a + i.bytes, 0)).toBeLessThan(16 * 1024);
    },
  );

  // Handlers that neither weight a listener nor deploy (the router and the deployers are ELBv2's only users).
  it.each(['bake', 'notify', 'request-approval', 'start-rollout', 'approval-page'])(
    '%s leaves the ELBv2 client out: it routes no traffic',
    (handler) => {
      // Prepare
      const inputs = inputsOf(handler);

      // Act
      const clients = sdkClientsOf(inputs);

      // Assess
      expect(clients).not.toContain('client-elastic-load-balancing-v2');
    },
  );

  it('set-weight keeps the ELBv2 client: it weights the listener', () => {
    expect(sdkClientsOf(inputsOf('set-weight'))).toContain('client-elastic-load-balancing-v2');
  });

  it('bake keeps no SDK client but DynamoDB, the only one its store uses', () => {
    expect(sdkClientsOf(inputsOf('bake'))).toEqual(['client-dynamodb']);
  });
});
