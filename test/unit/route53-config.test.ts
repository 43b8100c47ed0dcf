import { describe, expect, it } from 'vitest';
import { routerByKind } from '../../functions/adapters/aws/routers';
import { parseServiceConfig } from '../../functions/core/config';
import { drainSeconds } from '../../functions/core/config-route';
import { exactRecordWeights, recordWeights } from '../../functions/core/config-route53';
import { ConfigInvalidError } from '../../functions/core/errors';
import type { Route } from '../../functions/core/rollout';
import { otherAnsweringRecords, routeOf, routeWeights } from '../../functions/core/routes';
import type { TrafficRouter } from '../../functions/ports';
import { route, route53Route } from '../adapters/helpers';
import { validServiceConfig } from '../helpers/config';

const LB = (name: string) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/${name}/50dc6c495c0c9188`;
const TG = (name: string) =>
  `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/${name}/73e2d6bc24d8a067`;
const traffic = (extra: Record<string, unknown> = {}) => ({
  kind: 'route53',
  hostedZoneId: 'Z0123456789ABCDEFGHIJ',
  recordName: 'api.example.com',
  recordType: 'A',
  stable: { setIdentifier: 'blue', loadBalancerArn: LB('blue'), targetGroupArn: TG('blue') },
  canary: { setIdentifier: 'green', loadBalancerArn: LB('green'), targetGroupArn: TG('green') },
  ...extra,
});
const parse = (t: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  parseServiceConfig(validServiceConfig({ traffic: t as never, ...extra }));
const problem = (t: Record<string, unknown>, extra: Record<string, unknown> = {}) => {
  try {
    parse(t, extra);
  } catch (e) {
    if (e instanceof ConfigInvalidError) return e.message;
    throw e;
  }
  throw new Error('accepted');
};

describe('Route 53 record weights (0–255, API_ResourceRecordSet)', () => {
  it('keep the exact ratio of a share, reduced as for ALB', () => {
    expect(exactRecordWeights(5)).toEqual({ stable: 19, canary: 1 });
    expect(exactRecordWeights(0.5)).toEqual({ stable: 199, canary: 1 });
    expect(exactRecordWeights(50)).toEqual({ stable: 1, canary: 1 });
    expect(exactRecordWeights(37.5)).toEqual({ stable: 5, canary: 3 });
  });

  it('never put both at 0 (Route 53 would answer with both alike)', () => {
    expect(exactRecordWeights(0)).toEqual({ stable: 1, canary: 0 });
    expect(exactRecordWeights(100)).toEqual({ stable: 0, canary: 1 });
  });

  it('refuse a share whose exact ratio needs a weight above 255, naming the nearest that fit', () => {
    expect(exactRecordWeights(0.1)).toBeUndefined();
    expect(exactRecordWeights(33.3)).toBeUndefined();
    // 0.3% is 997:3; 0.2% is 499:1 (too large); 0.4% is 249:1.
    expect(() => recordWeights(0.3)).toThrow(/0\.3% has no exact ratio within them \(nearest: 0\.4\)/);
  });

  it('are what routeWeights gives a weighted-records route; an ALB route keeps 0–999', () => {
    expect(routeWeights(route53Route(), 0.5)).toEqual({ stable: 199, canary: 1 });
    expect(routeWeights(route(), 0.1)).toEqual({ stable: 999, canary: 1 });
  });
});

describe('traffic.kind route53 in the config', () => {
  it('accepts two weighted records with their load balancers and target groups, TTL 60 s by default', () => {
    const c = parse(traffic());
    expect(c.traffic).toMatchObject({ kind: 'route53', ttlSeconds: 60, deregistrationDelaySeconds: 300 });
    expect(drainSeconds(c.traffic)).toBe(360);
    expect(routeOf(c.traffic, true)).toMatchObject({
      stableSetIdentifier: 'green',
      canarySetIdentifier: 'blue',
      stableLoadBalancerArn: LB('green'),
      canaryTargetGroupArn: TG('blue'),
    });
  });

  it('names the field that is wrong', () => {
    expect(problem(traffic({ recordName: 'API.example.com.' }))).toMatch(
      /traffic\.recordName: must be a DNS name/,
    );
    expect(problem(traffic({ hostedZoneId: '/hostedzone/Z123' }))).toMatch(/traffic\.hostedZoneId/);
    expect(problem(traffic({ recordType: 'TXT' }))).toMatch(/traffic\.recordType: must be A, AAAA or CNAME/);
    expect(problem(traffic({ ttlSeconds: 300 }))).toMatch(/traffic\.ttlSeconds: at most 180 s/);
    expect(
      problem(
        traffic({
          canary: { setIdentifier: 'blue', loadBalancerArn: LB('green'), targetGroupArn: TG('green') },
        }),
      ),
    ).toMatch(/traffic\.canary\.setIdentifier: must differ from stable\.setIdentifier/);
    expect(problem(traffic({ listenerArn: 'x' }))).toMatch(/traffic\.listenerArn: unknown field/);
    expect(problem({ ...traffic(), kind: 'nlb' })).toMatch(/traffic\.kind: unknown traffic kind/);
  });

  it('refuses a step the records cannot weight exactly, naming the step', () => {
    const steps = [
      { weight: 0.3, bakeSeconds: 60 },
      { weight: 100, bakeSeconds: 0 },
    ];
    expect(problem(traffic(), { steps })).toMatch(/steps\[0\]\.weight: Route 53 weights are 0–255: 0\.3%/);
    // The same plan behind a listener (0–999) is fine.
    expect(() => parseServiceConfig(validServiceConfig({ steps }))).not.toThrow();
  });

  it('refuses blue/green, saying it needs traffic.kind alb with a headerRule', () => {
    const blueGreen = { strategy: 'blueGreen', steps: undefined };
    expect(problem(traffic(), blueGreen)).toBe(
      'service config is invalid: traffic.kind: strategy "blueGreen" needs traffic.kind "alb" with a headerRule ' +
        '(its test traffic reaches the new version through the header rule; weighted records have none)',
    );
  });

  it('refuses two services weighting the same records', async () => {
    const { parseServiceConfigs } = await import('../../functions/core/config');
    const a = validServiceConfig({ traffic: traffic() as never });
    const b = validServiceConfig({
      service: 'api',
      repository: 'acme/api',
      traffic: traffic({
        stable: { setIdentifier: 'blue', loadBalancerArn: LB('blue'), targetGroupArn: TG('blue2') },
        canary: { setIdentifier: 'green', loadBalancerArn: LB('green'), targetGroupArn: TG('green2') },
      }) as never,
    });
    expect(() => parseServiceConfigs([a, b])).toThrow(
      /\[1\]\.traffic\.recordName: duplicates services\[0\]\.traffic\.recordName/,
    );
  });
});

describe('routerByKind', () => {
  const recording = (name: string, calls: string[]): TrafficRouter<never> => ({
    describe: async () => ({ [name]: 1 }),
    setWeights: async () => void calls.push(name),
    verifyWeights: async () => true,
  });

  it("moves each route with its kind's router (a route without a kind is an ALB route)", async () => {
    const calls: string[] = [];
    const router = routerByKind({
      alb: () => recording('alb', calls),
      route53: () => recording('route53', calls),
    });
    await router.setWeights(route(), 5);
    await router.setWeights(route53Route(), 5);
    expect(calls).toEqual(['alb', 'route53']);
  });

  it('refuses an unknown kind as a config error, never falling back', async () => {
    const router = routerByKind({ alb: () => recording('alb', []), route53: () => recording('route53', []) });
    const unknown = { ...route(), kind: 'nlb' } as unknown as Route;
    await expect(router.describe(unknown)).rejects.toBeInstanceOf(ConfigInvalidError);
  });
});

describe('other records of a weighted group', () => {
  it('names the ones that take answers (weight above 0), never the two the rollout weights', () => {
    expect(
      otherAnsweringRecords({
        stableTg: 255,
        canaryTg: 1,
        'SetIdentifier legacy': 5,
        'SetIdentifier old': 0,
      }),
    ).toEqual(['legacy (weight 5)']);
    expect(otherAnsweringRecords({ stableTg: 1, canaryTg: 0 })).toEqual([]);
  });
});
