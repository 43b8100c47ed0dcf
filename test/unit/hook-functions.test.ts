/**
 * The hook functions a controller invokes, one rule for the stack's grant (infra/hook-permissions.ts) and for
 * `canary check`'s simulation of run-hook's call (cli/check): a name is the function of that name in the
 * controller's partition, region and account; an ARN is invoked as configured, whatever its region and qualifier.
 */
import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/core/config';
import {
  grantedByTag,
  HOOK_ARNS_LISTED,
  hookFunctionArn,
  hookFunctionArns,
  unqualifiedFunctionArn,
} from '../../functions/core/hook-functions';
import { validServiceConfig } from '../helpers/config';

const HOME = { partition: 'aws', region: 'us-east-1', account: '123456789012' };

describe('hook functions', () => {
  it("resolves a name in the controller's partition, region and account, and keeps an ARN as configured", () => {
    expect(hookFunctionArn('web-smoke', HOME)).toBe(
      'arn:aws:lambda:us-east-1:123456789012:function:web-smoke',
    );
    const elsewhere = 'arn:aws-cn:lambda:cn-north-1:210987654321:function:web-e2e:live';
    expect(hookFunctionArn(elsewhere, HOME)).toBe(elsewhere);
  });

  it("lists each configured function once, sorted, across the configs' stages; HTTPS hooks are not functions", () => {
    const web = parseServiceConfig(
      validServiceConfig({
        hooks: {
          beforeTraffic: [{ name: 'smoke', lambda: 'web-smoke' }],
          afterPromotion: [
            { name: 'again', lambda: 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke' },
            { name: 'contract', url: 'https://checks.example.com/web' },
          ],
        },
      }),
    );
    const api = parseServiceConfig(
      validServiceConfig({
        service: 'api',
        hooks: {
          beforeStep: [{ name: 'load', lambda: 'arn:aws:lambda:eu-west-1:123456789012:function:load:2' }],
        },
      }),
    );
    expect(hookFunctionArns([web, api], HOME)).toEqual([
      'arn:aws:lambda:eu-west-1:123456789012:function:load:2',
      'arn:aws:lambda:us-east-1:123456789012:function:web-smoke',
    ]);
    expect(hookFunctionArns([parseServiceConfig(validServiceConfig())], HOME)).toEqual([]);
  });

  it('names the function a qualified ARN (a version or alias) belongs to: tags are the function’s', () => {
    const fn = 'arn:aws:lambda:eu-west-1:123456789012:function:load';
    expect(unqualifiedFunctionArn(`${fn}:live`)).toBe(fn);
    expect(unqualifiedFunctionArn(`${fn}:$LATEST`)).toBe(fn);
    expect(unqualifiedFunctionArn(fn)).toBe(fn);
  });

  it('is granted by ARN up to HOOK_ARNS_LISTED functions, by tag past it', () => {
    const arns = (n: number) =>
      Array.from({ length: n }, (_, i) => `arn:aws:lambda:us-east-1:1:function:f${i}`);
    expect(grantedByTag(arns(HOOK_ARNS_LISTED))).toBe(false);
    expect(grantedByTag(arns(HOOK_ARNS_LISTED + 1))).toBe(true);
  });
});
