import { describe, expect, it } from 'vitest';
import { parseServiceConfigs } from '../../functions/core/config';
import { demoService } from '../../sandbox/demo';
import { SCENARIOS } from '../../sandbox/run';

describe('the sandbox scenarios', () => {
  it.each(Object.keys(SCENARIOS))('%s runs a service config the controller accepts', (name) => {
    const scenario = SCENARIOS[name];
    expect(() => parseServiceConfigs([demoService(scenario?.service)])).not.toThrow();
  });
});
