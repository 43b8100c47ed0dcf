/**
 * The version of the service config's schema (config.ts and the modules it composes): a fingerprint of its JSON
 * Schema, which test/unit/config-version.test.ts recomputes, so a change of the schema cannot ship without a new
 * version. The deploy stamps every config it publishes with it (adapters/aws/config-catalog.ts), and a new version
 * makes the deploy publish every config again, validated with the new schema, before the functions that read them
 * are updated (infra/service-configs.ts). No schema here: the readers of the catalog take only this.
 */
export const CONFIG_SCHEMA_VERSION = '90e9f3bed6c53717';
