/**
 * Rules that match many services: one EventBridge pattern per tag filter (ECR pushes) and for all gating alarms,
 * split only where EventBridge's event pattern quota (2,048 characters) requires.
 */
import { describe, expect, it } from 'vitest';
import { parseServiceConfigs } from '../../functions/core/config';
import {
  alarmPatterns,
  chunkedPatterns,
  EVENT_PATTERN_MAX_CHARS,
  ecrPushPatterns,
} from '../../infra/triggers';
import { generatedServices } from './generated-services';

const services = parseServiceConfigs(generatedServices(500));
const size = (p: unknown) => JSON.stringify(p).length;

describe('event patterns for many services', () => {
  it('splits the alarm names only where the next name would not fit', () => {
    const patterns = alarmPatterns(services);
    const names = patterns.map((p) => p.detail.alarmName as string[]);
    expect(names.flat()).toEqual([...new Set(services.flatMap((c) => c.analysis.alarms))].sort());
    for (const [i, p] of patterns.entries()) {
      expect(size(p)).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
      const next = names[i + 1]?.[0];
      if (next)
        expect(
          size({ ...p, detail: { ...p.detail, alarmName: [...(names[i] ?? []), next] } }),
        ).toBeGreaterThan(EVENT_PATTERN_MAX_CHARS);
    }
  });

  it('matches every repository once, one pattern per tag filter unless it is too large', () => {
    const patterns = ecrPushPatterns(services);
    const repositories = patterns.flatMap((p) => p.detail['repository-name'] as string[]);
    expect(repositories.sort()).toEqual(services.map((c) => c.repository).sort());
    const filters = new Set(patterns.map((p) => JSON.stringify(p.detail['image-tag'] ?? null)));
    expect(filters).toEqual(new Set(['null', '[{"prefix":"v"}]', '[{"prefix":"release-"}]']));
    for (const p of patterns) expect(size(p)).toBeLessThanOrEqual(EVENT_PATTERN_MAX_CHARS);
    // Three services: one rule per filter, as small stacks had a rule per service.
    expect(ecrPushPatterns(services.slice(0, 3))).toHaveLength(3);
    expect(ecrPushPatterns(services.filter((c) => c.tagPattern === 'v*').slice(0, 20))).toHaveLength(1);
  });

  it('refuses a value too large for a pattern of its own, naming it', () => {
    const huge = 'x'.repeat(EVENT_PATTERN_MAX_CHARS);
    expect(() => chunkedPatterns(['a', huge], (alarmName) => ({ alarmName }))).toThrow(
      `an event pattern for ${huge} alone is over 2048 characters`,
    );
  });
});
