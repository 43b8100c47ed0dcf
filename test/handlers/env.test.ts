/** The handlers' environment: SERVICES_JSON is read and validated once, naming what is wrong. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ConfigInvalidError } from '../../functions/core/errors';
import { serviceConfigs } from '../../functions/handlers/env';
import { serviceConfigInput } from '../adapters/helpers';

const web = serviceConfigInput({ steps: 'Canary10Percent5Minutes' });

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('serviceConfigs', () => {
  it('returns the configs of SERVICES_JSON with the defaults applied', () => {
    // Prepare
    vi.stubEnv('SERVICES_JSON', JSON.stringify([web]));

    // Act
    const configs = serviceConfigs();

    // Assess
    expect(configs.map((c) => c.service)).toEqual(['web']);
    expect(configs[0]?.analysis.minRequests).toBe(200);
  });

  it('refuses text that is not JSON, naming SERVICES_JSON', () => {
    vi.stubEnv('SERVICES_JSON', '[{');

    expect(() => serviceConfigs()).toThrow(ConfigInvalidError);
    expect(() => serviceConfigs()).toThrow(/SERVICES_JSON.*not JSON/s);
  });

  it('refuses an invalid config, naming the field', () => {
    vi.stubEnv('SERVICES_JSON', JSON.stringify([{ ...web, deployer: { ...web.deployer, cluster: '' } }]));

    expect(() => serviceConfigs()).toThrow(ConfigInvalidError);
    expect(() => serviceConfigs()).toThrow(/\[0\]\.deployer\.cluster/);
  });

  it('refuses two services of one name', () => {
    vi.stubEnv('SERVICES_JSON', JSON.stringify([web, { ...web, repository: 'team/other' }]));

    expect(() => serviceConfigs()).toThrow(/duplicates/);
  });

  it('refuses a missing SERVICES_JSON, naming it', () => {
    vi.stubEnv('SERVICES_JSON', undefined);

    expect(() => serviceConfigs()).toThrow(/SERVICES_JSON is not set/);
  });
});
