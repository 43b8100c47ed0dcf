/**
 * What the controller's own code adds to each Lambda bundle, in bytes, against a twin that imports the same SDK,
 * Powertools and middy exports and does nothing (bench/bundles.ts builds both exactly as `cdk synth` does). Cold
 * import times are measured in `npm run bench -- bundles`, never here.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { type BundlePair, buildPairs, handlerNames, MAX_RATIO } from '../../bench/bundles';

/** zod, the one package the controller's own code brings, is about 95 KB in every bundle (about ×1.15–1.19). */
const MAX_RATIO_WITH_ZOD = 1.3;

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
    expect(p.bytes - ownPackages(p)).toBeLessThanOrEqual(MAX_RATIO * p.twinBytes);
  });

  it.each(handlerNames())(`%s: with zod, at most ×${MAX_RATIO_WITH_ZOD} its twin's bytes`, (handler) => {
    const p = pair(handler);
    expect(p.bytes).toBeLessThanOrEqual(MAX_RATIO_WITH_ZOD * p.twinBytes);
  });
});
