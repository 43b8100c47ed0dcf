/**
 * What the controller's own code adds to each Lambda bundle, in bytes, against a twin that imports the same SDK,
 * Powertools and middy exports and does nothing (bench/bundles.ts builds both exactly as `cdk synth` does). Cold
 * import times are measured in `npm run bench -- bundles`, never here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundlePair, buildPairs, handlerNames, MAX_RATIO } from '../../bench/bundles';
import { TASKS } from '../../functions/tasks/registry';

/**
 * The handlers whose bundle, zod included, is above ×MAX_RATIO its twin's, with their ceiling and what they carry.
 * Every handler takes zod/mini (about 34 KB, the one package beyond its twin's) and the schemas of its input; only
 * the handlers that read the service catalog take the config's schemas and the plan's limits. These bring the most
 * code of their own on top.
 */
const ABOVE_MAX_WITH_ZOD: Record<string, { ratio: number; why: string }> = {
  analyze: {
    ratio: 1.2,
    why: 'the judge (sequential, point and custom-metric checks), its evidence text, CloudWatch and X-Ray reads, the drift check',
  },
  'approval-page': {
    ratio: 1.18,
    why: 'renders the approval page and the rollout report, custom metrics and hooks included; pause and resume',
  },
  notify: { ratio: 1.16, why: 'writes the notifications (headline, evidence text) and pages PagerDuty' },
  reconcile: {
    ratio: 1.212,
    why: 'repairs any rollout: the rollback, the ECS deployer, route checks, notification text, the catalog',
  },
  'request-approval': {
    ratio: 1.162,
    why: 'writes the approval notification (headline, evidence text); resolves a pause incident on PagerDuty',
  },
  rollback: {
    ratio: 1.152,
    why: "puts stable back, restores it, quarantines; the store's abort mark written only while the rollout holds its service",
  },
  'set-weight': {
    ratio: 1.16,
    why: 'the ECS deployer and its capacity reads, route checks, listener weights, the held weight of a pause',
  },
  'start-rollout': {
    ratio: 1.22,
    why: 'parses the events, starts executions, writes the superseded notification, the catalog (config schemas)',
  },
};
const maxWithZod = (handler: string) => ABOVE_MAX_WITH_ZOD[handler]?.ratio ?? MAX_RATIO;

/** The handlers whose own modules (zod left out) are above ×MAX_RATIO their twin's, with their ceiling and why. */
const OWN_ABOVE_MAX: Record<string, { ratio: number; why: string }> = {
  analyze: {
    ratio: 1.17,
    why: 'the custom metrics: their checks, the gauge test, their evidence text and queries',
  },
  reconcile: {
    ratio: 1.16,
    why: 'repairs any rollout: its notifications word every check, custom metrics included',
  },
};

/** A full `zod` import anywhere in a bundle brings about 95 KB of it; zod/mini's schemas keep about 38 KB. */
const MAX_ZOD_BYTES = 50 * 1024;

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

  it('the only package a handler bundles beyond its twin is zod', () => {
    for (const p of pairs.values())
      expect([p.handler, Object.keys(p.ownPackageBytes)]).toEqual([p.handler, ['zod']]);
  });

  it.each(handlerNames())(`%s: its own modules add at most ×${MAX_RATIO} to the twin's bytes`, (handler) => {
    const p = pair(handler);
    expect(p.bytes - ownPackages(p)).toBeLessThanOrEqual(
      (OWN_ABOVE_MAX[handler]?.ratio ?? MAX_RATIO) * p.twinBytes,
    );
  });

  it.each(handlerNames())(
    `%s: with zod, at most ×${MAX_RATIO} its twin's bytes, or its own ceiling`,
    (handler) => {
      const p = pair(handler);
      expect(p.bytes).toBeLessThanOrEqual(maxWithZod(handler) * p.twinBytes);
    },
  );

  it(`no handler keeps a ceiling above ×${MAX_RATIO} that it no longer needs`, () => {
    for (const [handler, { ratio }] of Object.entries(ABOVE_MAX_WITH_ZOD)) {
      const p = pair(handler);
      expect([handler, p.bytes > MAX_RATIO * p.twinBytes, p.bytes <= ratio * p.twinBytes]).toEqual([
        handler,
        true,
        true,
      ]);
    }
  });

  it.each(handlerNames())(
    '%s bundles the config schemas and plan limits only if it reads the service catalog',
    (handler) => {
      // The catalog validates what it reads with the schema of synth and publish (publish-configs validates what it
      // publishes); a rollout document's config was validated before its rollout started, so a handler reading
      // only documents needs neither.
      const readsCatalog =
        handler === 'publish-configs' || (TASKS[handler]?.env.includes('CONFIG_TABLE_NAME') ?? false);
      const schemas = pair(handler).ownModules.filter((f) =>
        /functions\/core\/(config(-[a-z]+)?|workflow-limits)\.ts$/.test(f),
      );
      expect(schemas.length > 0).toBe(readsCatalog);
    },
  );

  it.each(handlerNames())('%s takes zod/mini, not the full zod', (handler) => {
    expect(pair(handler).ownPackageBytes.zod ?? 0).toBeLessThan(MAX_ZOD_BYTES);
  });
});
