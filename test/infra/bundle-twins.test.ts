/**
 * What the controller's own code adds to each Lambda bundle, in bytes, against a twin that imports the same SDK,
 * Powertools and middy exports and does nothing (bench/bundles.ts builds both exactly as `cdk synth` does). Cold
 * import times are measured in `npm run bench -- bundles`, never here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundlePair, buildPairs, handlerNames, MAX_RATIO } from '../../bench/bundles';

/** The deploy-time config's validator (zod/mini, functions/core/zod.ts): about 33 KB, in publish-configs alone. */
const MAX_ZOD_BYTES = 50 * 1024;
/** The run-time validator (valibot through functions/core/valibot.ts): about 10 KB of the checks a handler uses. */
const MAX_VALIBOT_BYTES = 16 * 1024;
/** The one handler that checks the service configs with the schema of synth. */
const CONFIG_PUBLISHER = 'publish-configs';

let pairs: Map<string, BundlePair>;

beforeAll(async () => {
  // Two esbuild builds over every handler, in memory and without source maps: a few seconds.
  pairs = new Map((await buildPairs({ sourcemap: false })).map((p) => [p.handler, p]));
}, 60_000);

const pair = (handler: string) => pairs.get(handler) as BundlePair;
const ownPackages = (p: BundlePair) => Object.values(p.ownPackageBytes).reduce((a, b) => a + b, 0);

describe('Lambda bundles against their twins', () => {
  it('a twin takes every SDK, Powertools and middy package its handler bundles', () => {
    for (const p of pairs.values()) expect([p.handler, p.missingFromTwin]).toEqual([p.handler, []]);
  });

  it('the only packages a handler bundles beyond its twin are its validators: zod in publish-configs alone', () => {
    for (const p of pairs.values()) {
      const expected = p.handler === CONFIG_PUBLISHER ? ['zod'] : ['valibot'];
      expect([p.handler, Object.keys(p.ownPackageBytes).sort()]).toEqual([p.handler, expected]);
    }
  });

  it.each(handlerNames())(`%s: its own modules add at most ×${MAX_RATIO} to the twin's bytes`, (handler) => {
    const p = pair(handler);
    expect(p.bytes - ownPackages(p)).toBeLessThanOrEqual(MAX_RATIO * p.twinBytes);
  });

  it.each(handlerNames())(`%s: with its validators, at most ×${MAX_RATIO} its twin's bytes`, (handler) => {
    const p = pair(handler);
    expect(p.bytes).toBeLessThanOrEqual(MAX_RATIO * p.twinBytes);
  });

  it.each(handlerNames())(
    '%s bundles the config schemas and plan limits only if it publishes the service configs',
    (handler) => {
      // publish-configs validates what it publishes with the schema of synth and seals it; the handlers that read
      // the catalog check the seal (adapters/aws/config-catalog.ts), and a rollout document's config was read from
      // the catalog before its rollout started, so the tasks check only that it is there.
      const schemas = pair(handler).ownModules.filter((f) =>
        /functions\/core\/(config(-(?!version|names)[a-z]+)?|workflow-limits)\.ts$/.test(f),
      );
      expect(schemas.length > 0).toBe(handler === 'publish-configs');
    },
  );

  it('analyze sends through SNS alone: its step.passed is info, which PagerDuty never pages', () => {
    // Nor does it resolve an incident, so neither the PagerDuty notifier nor its Secrets Manager reads are bundled.
    const modules = pair('analyze').ownModules;
    expect(modules.filter((f) => /adapters\/aws\/(pagerduty|secretsmanager)\.ts$/.test(f))).toEqual([]);
    expect(modules.some((f) => f.endsWith('functions/adapters/aws/sns.ts'))).toBe(true);
  });

  it.each(handlerNames())('%s keeps its validators tree-shaken', (handler) => {
    expect(pair(handler).ownPackageBytes.valibot ?? 0).toBeLessThan(MAX_VALIBOT_BYTES);
    expect(pair(handler).ownPackageBytes.zod ?? 0).toBeLessThan(MAX_ZOD_BYTES);
  });
});
