import { describe, expect, it } from 'vitest';
import { StaticServiceCatalog } from '../../functions/adapters/aws/catalog';
import { parseServiceConfigs } from '../../functions/core/config';
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
  it('finds a service by name and by repository, as validated', async () => {
    // Prepare
    const catalog = new StaticServiceCatalog(parseServiceConfigs([web, api]));

    // Act
    const byName = await catalog.byName('api');
    const byRepository = await catalog.byRepository('team/web');

    // Assess
    expect(byName?.repository).toBe('team/api');
    expect(byRepository?.service).toBe('web');
    expect(byRepository?.analysis.minRequests).toBe(200);
  });

  it('finds nothing for a service or repository it does not hold', async () => {
    const catalog = new StaticServiceCatalog(parseServiceConfigs([web]));

    expect(await catalog.byName('billing')).toBeUndefined();
    expect(await catalog.byRepository('team/billing')).toBeUndefined();
  });
});
