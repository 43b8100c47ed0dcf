/**
 * The config schema's version is the fingerprint of its JSON Schema: a change of the schema changes it, and the
 * deploy then validates and seals every config again (core/config-version.ts).
 */
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { serviceConfigSchema } from '../../functions/core/config';
import { CONFIG_SCHEMA_VERSION } from '../../functions/core/config-version';
import * as z from '../../functions/core/zod';

describe('CONFIG_SCHEMA_VERSION', () => {
  it('is the fingerprint of the service config schema (set it to the value this test computes)', () => {
    const schema = JSON.stringify(
      z.toJSONSchema(serviceConfigSchema, { unrepresentable: 'any', io: 'input' }),
    );

    expect(createHash('sha256').update(schema).digest('hex').slice(0, 16)).toBe(CONFIG_SCHEMA_VERSION);
  });
});
