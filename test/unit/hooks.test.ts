import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/core/config';
import { hookSchema } from '../../functions/core/config-hooks';
import { ConfigInvalidError } from '../../functions/core/errors';
import {
  callSeconds,
  decideHook,
  EVIDENCE_CHARS,
  HOOK_CALL_SECONDS,
  hookEvidence,
  hookRequest,
} from '../../functions/core/hooks';
import type * as z from '../../functions/core/zod';
import { IMAGE_DIGEST, ROLLOUT_ID, validServiceConfig } from '../helpers/config';

const FN = 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke';
const spec = (over: Partial<z.input<typeof hookSchema>> = {}) =>
  hookSchema.parse({ name: 'smoke', lambda: FN, ...over });

function issuesOf(hooks: unknown): string[] {
  try {
    parseServiceConfig({ ...validServiceConfig(), hooks });
  } catch (error) {
    if (error instanceof ConfigInvalidError) return error.issues.map((i) => `${i.path}: ${i.message}`);
    throw error;
  }
  return [];
}

describe('hooks config', () => {
  it('accepts a Lambda function by ARN (qualified or not) or by name, and an https endpoint, with defaults', () => {
    // Act
    const config = parseServiceConfig({
      ...validServiceConfig(),
      hooks: {
        beforeTraffic: [{ name: 'smoke', lambda: FN }],
        beforeStep: [{ name: 'by-name', lambda: 'web-check:live' }],
        // One quick call before each analysis: what the history budget allows there (workflow-limits.ts).
        afterBake: [
          { name: 'qualified', lambda: `${FN}:3`, timeoutSeconds: 20, pollSeconds: 20, retries: 0 },
        ],
        afterPromotion: [{ name: 'endpoint', url: 'https://checks.example.com/web' }],
      },
    });
    // Assess
    expect(config.hooks?.beforeTraffic?.[0]).toEqual({
      name: 'smoke',
      lambda: FN,
      timeoutSeconds: 300,
      pollSeconds: 30,
      retries: 2,
    });
    expect(config.hooks?.afterPromotion?.[0]?.url).toBe('https://checks.example.com/web');
  });

  it('names the field of every mistake and refuses unknown keys', () => {
    expect(
      issuesOf({
        beforeTraffic: [{ name: 'smoke', lambda: 'arn:aws:s3:::bucket' }],
        beforeStep: [{ name: 'plain', url: 'http://checks.example.com' }],
        afterBake: [
          {
            name: 'both',
            lambda: FN,
            url: 'https://x.example.com',
            timeoutSeconds: 20,
            pollSeconds: 20,
            retries: 0,
          },
        ],
        afterPromotion: [{ name: 'slow', lambda: FN, pollSeconds: 60, timeoutSeconds: 30 }],
        beforeEverything: [],
      }),
    ).toEqual([
      'hooks.beforeTraffic[0].lambda: must be a Lambda function ARN or name',
      'hooks.beforeStep[0].url: must be an https:// URL',
      'hooks.afterBake[0].lambda: set exactly one of lambda and url',
      'hooks.afterPromotion[0].pollSeconds: must not exceed timeoutSeconds',
      'hooks.beforeEverything: unknown field',
    ]);
    expect(
      issuesOf({
        beforeTraffic: [
          { name: 'a', lambda: FN },
          { name: 'a', lambda: FN },
        ],
      }),
    ).toEqual(['hooks.beforeTraffic: names must be unique']);
    expect(issuesOf({ beforeTraffic: [{ name: 'a', lambda: FN, retry: 3 }] })).toEqual([
      'hooks.beforeTraffic[0].retry: unknown field',
    ]);
  });
});

describe('hook contract', () => {
  const rollout = {
    rolloutId: ROLLOUT_ID,
    service: 'web',
    image: { repository: 'acme/web', digest: IMAGE_DIGEST, tag: 'v2' },
  };

  it('calls with the rollout, the stage, the step and the test route (the header rule)', () => {
    const route = { headerRule: { header: 'X-Canary', values: ['always', 'qa'] } };
    const step = { index: 1, weight: 10, bakeSeconds: 60, approval: false };
    expect(hookRequest({ rollout, route, stage: 'beforeStep', step }, 'smoke', 2, 'T0')).toEqual({
      kind: 'canary-hook',
      version: 1,
      service: 'web',
      rolloutId: ROLLOUT_ID,
      image: rollout.image,
      stage: 'beforeStep',
      hook: 'smoke',
      step: { index: 1, weight: 10 },
      testRoute: { header: 'X-Canary', value: 'always' },
      call: 2,
      firstCalledAt: 'T0',
    });
    expect(hookRequest({ rollout, route: {}, stage: 'beforeTraffic' }, 'smoke', 1, 'T0')).not.toHaveProperty(
      'testRoute',
    );
  });

  it('passes, fails, polls "running" until the timeout, then gives up as unavailable (timed out), and says why', () => {
    const s = spec({ timeoutSeconds: 100, pollSeconds: 30 });
    const at = (elapsedSeconds: number) => ({ calls: 1, failures: 0, elapsedSeconds });
    const answer = (status: 'pass' | 'fail' | 'running', message?: string) =>
      ({ kind: 'answer', answer: { status, ...(message ? { message } : {}) } }) as const;
    expect(decideHook(s, at(0), answer('pass'))).toEqual({ kind: 'passed' });
    expect(decideHook(s, at(0), answer('fail', '3 of 20 failed'))).toEqual({
      kind: 'failed',
      reason: '3 of 20 failed',
    });
    expect(decideHook(s, at(60), answer('running'))).toEqual({ kind: 'wait', seconds: 30, failures: 0 });
    expect(decideHook(s, at(80), answer('running', 'step 4 of 5'))).toEqual({
      kind: 'unavailable',
      reason: 'timed out: still running after 80 s (timeoutSeconds 100): step 4 of 5',
    });
  });

  it('retries a failed call with a growing wait, or the one asked for, then gives up as unavailable', () => {
    const s = spec({ retries: 2, pollSeconds: 30, timeoutSeconds: 300 });
    const error = { kind: 'error', message: 'TooManyRequestsException: Rate exceeded' } as const;
    expect(decideHook(s, { calls: 1, failures: 0, elapsedSeconds: 0 }, error)).toEqual({
      kind: 'wait',
      seconds: 1,
      failures: 1,
    });
    expect(decideHook(s, { calls: 2, failures: 1, elapsedSeconds: 1 }, error)).toEqual({
      kind: 'wait',
      seconds: 2,
      failures: 2,
    });
    expect(
      decideHook(s, { calls: 2, failures: 1, elapsedSeconds: 1 }, { ...error, retryAfterSeconds: 7 }),
    ).toMatchObject({ kind: 'wait', seconds: 7 });
    expect(decideHook(s, { calls: 3, failures: 2, elapsedSeconds: 3 }, error)).toEqual({
      kind: 'unavailable',
      reason: '3 failed calls in a row: TooManyRequestsException: Rate exceeded',
    });
    expect(decideHook(s, { calls: 1, failures: 0, elapsedSeconds: 300 }, error)).toMatchObject({
      kind: 'unavailable',
    });
  });

  it('gives up at once on a call a retry cannot mend (no such function, access denied)', () => {
    const s = spec({ retries: 2, pollSeconds: 30, timeoutSeconds: 300 });
    const missing = {
      kind: 'error',
      message: 'ResourceNotFoundException: no such function',
      retry: false,
    } as const;
    expect(decideHook(s, { calls: 1, failures: 0, elapsedSeconds: 0 }, missing)).toEqual({
      kind: 'unavailable',
      reason: 'ResourceNotFoundException: no such function',
    });
  });

  it('bounds one call by the task budget and the hook timeout, and keeps short evidence', () => {
    expect(callSeconds({ timeoutSeconds: 300 }, 0)).toBe(HOOK_CALL_SECONDS);
    expect(callSeconds({ timeoutSeconds: 300 }, 290)).toBe(10);
    expect(callSeconds({ timeoutSeconds: 300 }, 400)).toBe(1);
    const long = hookEvidence({ status: 'fail', message: 'x'.repeat(5000), details: { n: 1 } });
    expect(long.message).toHaveLength(EVIDENCE_CHARS);
    expect(long.details).toBe('{"n":1}');
  });
});
