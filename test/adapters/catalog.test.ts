import { describe, expect, it } from 'vitest';
import { StaticServiceCatalog } from '../../functions/adapters/aws/catalog';
import { ConfigInvalidError } from '../../functions/core/errors';
import { CANARY_TG, LISTENER_ARN, STABLE_TG, serviceConfigInput } from './helpers';

const web = serviceConfigInput({ steps: 'Canary10Percent5Minutes' });
const api = {
  ...web,
  service: 'api',
  repository: 'team/api',
  deployer: { kind: 'none' },
  // Services may not share a listener action or target groups.
  traffic: {
    kind: 'alb',
    listenerArn: LISTENER_ARN.replace(/\/[0-9a-f]+$/, '/0123456789abcdef'),
    stableTargetGroupArn: STABLE_TG.replace(/\/[0-9a-f]+$/, '/1111111111111111'),
    canaryTargetGroupArn: CANARY_TG.replace(/\/[0-9a-f]+$/, '/2222222222222222'),
  },
};

describe('StaticServiceCatalog', () => {
  it('finds a service by name and by repository, with defaults applied', async () => {
    const catalog = StaticServiceCatalog.fromJson(JSON.stringify([web, api]));

    expect((await catalog.byName('api'))?.repository).toBe('team/api');
    expect((await catalog.byRepository('team/web'))?.service).toBe('web');
    expect((await catalog.byRepository('team/web'))?.analysis.minRequests).toBe(200);
    expect(await catalog.byName('billing')).toBeUndefined();
    expect(await catalog.byRepository('team/billing')).toBeUndefined();
  });

  it('refuses an invalid bundle naming the field', () => {
    const bad = [{ ...web, deployer: { ...web.deployer, cluster: '' } }];

    expect(() => new StaticServiceCatalog(bad)).toThrow(ConfigInvalidError);
    expect(() => new StaticServiceCatalog(bad)).toThrow(/\[0\]\.deployer\.cluster/);
  });

  it('refuses duplicate services and text that is not JSON', () => {
    expect(() => new StaticServiceCatalog([web, { ...web, repository: 'team/other' }])).toThrow(/duplicates/);
    expect(() => StaticServiceCatalog.fromJson('[{')).toThrow(ConfigInvalidError);
  });
});
