/**
 * The version of the service config's schema (config.ts and the modules it composes): a fingerprint of its JSON
 * Schema, which test/unit/config-version.test.ts recomputes, so a change of the schema's shape cannot ship without
 * a new version. The JSON Schema leaves out the cross-field rules (refinements); a change of those alone is caught
 * by the deploy instead, which publishes every config again whenever the publisher's code changes
 * (infra/service-configs.ts). The deploy stamps every config it publishes with this version
 * (adapters/aws/config-catalog.ts), and a new version makes the deploy publish every config again, validated with
 * the new schema, before the functions that read them are updated. No schema here: the readers of the catalog
 * take only these.
 */
export const CONFIG_SCHEMA_VERSION = '90e9f3bed6c53717';

/**
 * The schema versions whose seals the readers of this release accept: the current one. A config sealed for any
 * other (an older release's schema, or a string no deploy wrote) is refused until this release's deploy seals it
 * again. Name an earlier version here only if this release's schema accepts every config that one accepted.
 */
export const ACCEPTED_CONFIG_SCHEMA_VERSIONS: readonly string[] = [CONFIG_SCHEMA_VERSION];
