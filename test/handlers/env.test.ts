/** The handlers' environment: a missing variable fails the cold start, naming it. */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { configTableName } from '../../functions/handlers/env';

afterEach(() => {
  vi.unstubAllEnvs();
});

describe('configTableName', () => {
  it('is CONFIG_TABLE_NAME, where the deploy wrote the service configs', () => {
    vi.stubEnv('CONFIG_TABLE_NAME', 'canary-service-configs');

    expect(configTableName()).toBe('canary-service-configs');
  });

  it('refuses a missing CONFIG_TABLE_NAME, naming it', () => {
    vi.stubEnv('CONFIG_TABLE_NAME', undefined);

    expect(() => configTableName()).toThrow(/CONFIG_TABLE_NAME is not set/);
  });
});
