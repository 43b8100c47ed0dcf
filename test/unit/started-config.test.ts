/**
 * The config a rollout document carries: the defaults of the fields added since executions first carried it are
 * filled in, the same values the config schema gives them.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../functions/core/config';
import { rolloutDocSchema } from '../../functions/core/rollout';
import { withAddedDefaults } from '../../functions/core/started-config';
import * as v from '../../functions/core/valibot';
import { rolloutDocFor, validParsedConfig } from '../helpers/config';

/** The config without the fields an earlier release's config lacked. */
function withoutAddedFields(config: ServiceConfig): ServiceConfig {
  const { metrics, ecsMetrics, onFailure, pauseTimeoutSeconds, ...analysis } = config.analysis;
  const { kind, ...traffic } = config.traffic;
  const { strategy, hooks, blueGreen, ...rest } = config;
  return { ...rest, traffic, analysis } as unknown as ServiceConfig;
}

describe('withAddedDefaults', () => {
  it('gives the fields added since the schema defaults, so the two cannot drift', () => {
    const parsed = validParsedConfig({ analysis: { metrics: undefined, ecsMetrics: undefined } });

    const filled = withAddedDefaults(withoutAddedFields(parsed));

    expect(filled).toEqual(parsed);
    expect(filled.analysis.metrics).toEqual([]);
  });

  it('keeps the values a config carries', () => {
    const parsed = validParsedConfig({
      strategy: 'canary',
      analysis: { onFailure: 'pause', pauseTimeoutSeconds: 600, ecsMetrics: { critical: true } },
    });

    expect(withAddedDefaults(parsed)).toEqual(parsed);
  });

  it('fills them when a rollout document is read', () => {
    const parsed = validParsedConfig();
    const doc = rolloutDocFor(withoutAddedFields(parsed));

    expect(v.parse(rolloutDocSchema, doc).config).toEqual(parsed);
  });
});
