/**
 * ServiceCatalog over the controller's service-config table, which the deploy writes (config-publisher.ts): one
 * item per service and one per ECR repository naming its service. A function reads an item when it first needs
 * it and keeps it in a bounded cache for the life of its execution environment, at most `ttlMs` (default 60 s):
 * a deployed change reaches new rollouts within that time, and a running rollout never reads the catalog again
 * (its document carries the config it started with).
 *
 * Why a table of its own rather than Parameter Store, AppConfig or items in the rollout table:
 * - Parameter Store: GetParametersByPath returns at most 10 parameters per call (API reference, MaxResults 1–10)
 *   and the account's default throughput (40 TPS, shared by GetParameter, GetParameters and GetParametersByPath,
 *   "AWS Systems Manager endpoints and quotas") is shared with every other user of the account; listing 500
 *   services for the CLI is 50 calls.
 * - AppConfig hosted configurations are written through the template (AWS::AppConfig::HostedConfigurationVersion
 *   Content, at most 1 MB): 500 services of about 1.2 KB would take most of CloudFormation's 1 MB template limit.
 * - The rollout table: every controller function may write items there, so any of them could rewrite a
 *   service's config; in a table of its own, only the deploy writes configs and only the functions that need the
 *   catalog may read them (infra/service-configs.ts).
 * On-demand DynamoDB costs nothing idle; GetItem by key scales with the services, and a Scan lists them.
 */
import { createHash } from 'node:crypto';
import type { CreateTableCommandInput } from '@aws-sdk/client-dynamodb';
import {
  type DynamoDBDocumentClient,
  GetCommand,
  ScanCommand,
  type ScanCommandInput,
} from '@aws-sdk/lib-dynamodb';
import type { ServiceConfig } from '../../core/config';
import { ACCEPTED_CONFIG_SCHEMA_VERSIONS, CONFIG_SCHEMA_VERSION } from '../../core/config-version';
import { ConfigInvalidError } from '../../core/errors';
import { withAddedDefaults } from '../../core/started-config';
import type { ServiceCatalog } from '../../ports';
import { canonicalJson } from './canonical-json';
import { type AdapterOptions, AwsCaller } from './sdk';

/** The table's keys, for the test harness and for infra (TableName is infra's choice). */
export const CONFIG_TABLE_SCHEMA: Omit<CreateTableCommandInput, 'TableName'> = {
  BillingMode: 'PAY_PER_REQUEST',
  AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
  KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
};

/**
 * Items (pk):
 *   SERVICE#<service>        service, repository, config (the validated ServiceConfig), schema, seal, version,
 *                            deployedAt
 *   REPOSITORY#<repository>  service (whose repository it is), version, deployedAt
 * `version` is the content hash of the configs the deploy published (the CDK asset's hash).
 */
export const serviceKey = (service: string) => `SERVICE#${service}`;
export const repositoryKey = (repository: string) => `REPOSITORY#${repository}`;

export interface ConfigItem {
  pk: string;
  service: string;
  version: string;
  deployedAt: string;
  repository?: string;
  config?: ServiceConfig;
  /** The version of the schema that validated `config` (core/config-version.ts). */
  schema?: string;
  /** sealOf(schema, config), written by the deploy's publisher after that schema validated `config`. */
  seal?: string;
}

/**
 * A validated config's seal: the SHA-256 of the schema version and the config. The deploy validates every config
 * with the schema of synth (publish-configs) and seals it; the functions that read the table check the seal
 * instead of bundling that schema. The seal is a checksum, not a signature (no key): it catches an item edited by
 * hand or written by a tool other than the deploy's publisher, and one left from a schema this release does not
 * accept, but anyone allowed to write the table could compute a matching one. What keeps configs to those the
 * deploy validated is IAM: only the publisher's role may write the table (infra/service-configs.ts).
 */
export function sealOf(schema: string, config: unknown): string {
  return createHash('sha256')
    .update(`${schema}\n${canonicalJson(config)}`)
    .digest('hex');
}

/**
 * The items the deploy writes for `configs` (valid, names and repositories unique: parseServiceConfigs), each
 * config sealed with the schema version that validated it.
 */
export function configItems(
  configs: readonly ServiceConfig[],
  version: string,
  deployedAt: string,
): ConfigItem[] {
  return configs.flatMap((config) => [
    {
      pk: serviceKey(config.service),
      service: config.service,
      repository: config.repository,
      config,
      schema: CONFIG_SCHEMA_VERSION,
      seal: sealOf(CONFIG_SCHEMA_VERSION, config),
      version,
      deployedAt,
    },
    { pk: repositoryKey(config.repository), service: config.service, version, deployedAt },
  ]);
}

/** Every item a Scan of the config table returns, over all its pages (a page holds at most 1 MB). */
export async function scanItems(
  aws: AwsCaller,
  doc: DynamoDBDocumentClient,
  input: ScanCommandInput & { TableName: string },
): Promise<Record<string, unknown>[]> {
  const items: Record<string, unknown>[] = [];
  let start: Record<string, unknown> | undefined;
  do {
    const page = await aws.call('dynamodb:Scan', input.TableName, () =>
      doc.send(new ScanCommand({ ...input, ...(start ? { ExclusiveStartKey: start } : {}) })),
    );
    items.push(...(page.Items ?? []));
    start = page.LastEvaluatedKey;
  } while (start);
  return items;
}

export interface CatalogCacheOptions {
  /** How long an item read is kept (an item not found is not kept); default 60 s. */
  ttlMs?: number;
  /** Most entries kept; the least recently used goes first. Default 1,000 (two per service). */
  maxEntries?: number;
  /** Milliseconds now (tests pin it). */
  now?: () => number;
}

/** A least-recently-used map whose entries expire `ttlMs` after they were read. */
export class BoundedCache<V> {
  private readonly entries = new Map<string, { value: V; at: number }>();
  private readonly ttlMs: number;
  private readonly maxEntries: number;
  private readonly now: () => number;

  constructor(options: CatalogCacheOptions = {}) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 1000);
    this.now = options.now ?? Date.now;
  }

  get size(): number {
    return this.entries.size;
  }

  async getOrLoad(key: string, load: () => Promise<V>): Promise<V> {
    const hit = this.entries.get(key);
    this.entries.delete(key);
    if (hit && this.now() - hit.at < this.ttlMs) {
      this.entries.set(key, hit);
      return hit.value;
    }
    const value = await load();
    // Nothing found is not kept: a service a deploy adds is seen by the next push, and pushes of repositories no
    // service uses cannot fill the cache.
    if (value === undefined) return value;
    this.entries.set(key, { value, at: this.now() });
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
    return value;
  }
}

export class DynamoServiceCatalog implements ServiceCatalog {
  private readonly aws: AwsCaller;
  /** A service's validated config by its key; a repository's service name by the repository's key. */
  private readonly cache: BoundedCache<ServiceConfig | string | undefined>;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: AdapterOptions & { cache?: CatalogCacheOptions } = {},
  ) {
    this.aws = new AwsCaller(options.retry);
    this.cache = new BoundedCache(options.cache);
  }

  /** The service's config, its seal checked once when read (a bad item is read and refused again next time). */
  async byName(service: string): Promise<ServiceConfig | undefined> {
    return (await this.cache.getOrLoad(serviceKey(service), async () => {
      const item = await this.get(serviceKey(service));
      return item ? this.configOf(item, service) : undefined;
    })) as ServiceConfig | undefined;
  }

  async byRepository(repository: string): Promise<ServiceConfig | undefined> {
    const key = repositoryKey(repository);
    const service = await this.cache.getOrLoad(key, async () => (await this.get(key))?.service);
    if (typeof service !== 'string') return undefined;
    const config = await this.byName(service);
    // A repository item left behind while the deploy rewrote the table names a service that no longer owns it.
    return config?.repository === repository ? config : undefined;
  }

  /** Every configured service, by name (the CLI: `check`, refusing unknown names). Not cached. */
  async list(): Promise<ServiceConfig[]> {
    const items = (await scanItems(this.aws, this.doc, {
      TableName: this.tableName,
      FilterExpression: 'begins_with(pk, :service)',
      ExpressionAttributeValues: { ':service': 'SERVICE#' },
    })) as unknown as ConfigItem[];
    return items
      .map((item) => this.configOf(item, item.service))
      .sort((a, b) => a.service.localeCompare(b.service));
  }

  private async get(pk: string): Promise<ConfigItem | undefined> {
    const out = await this.aws.call('dynamodb:GetItem', `${this.tableName} ${pk}`, () =>
      this.doc.send(new GetCommand({ TableName: this.tableName, Key: { pk }, ConsistentRead: true })),
    );
    return out.Item as ConfigItem | undefined;
  }

  /**
   * The item's config, as the deploy validated and sealed it: an item with no seal, sealed for a schema version
   * this release does not accept (core/config-version.ts), or whose seal does not match (changed or written by
   * hand) is refused, naming the service and the field. The defaults of fields added since the schema that
   * sealed it are filled in (core/started-config.ts), as for an execution's config.
   */
  private configOf(item: ConfigItem, service: string): ServiceConfig {
    const subject = `service config "${service}" in table ${this.tableName} (version ${item.version ?? 'unknown'})`;
    const refuse = (path: string, message: string) => new ConfigInvalidError(subject, [{ path, message }]);
    const config = item.config as Partial<ServiceConfig> | undefined;
    const { schema, seal } = item;
    const deploy = 'deploy this release';
    const problem =
      typeof config !== 'object' || config === null || Array.isArray(config)
        ? `missing: ${deploy}`
        : typeof schema !== 'string' || typeof seal !== 'string'
          ? `not sealed: ${deploy}`
          : !ACCEPTED_CONFIG_SCHEMA_VERSIONS.includes(schema)
            ? `sealed for schema "${schema}"; ${deploy} to re-seal`
            : seal !== sealOf(schema, config)
              ? `does not match its seal: ${deploy}`
              : undefined;
    if (problem) throw refuse('config', problem);
    if (config?.service !== service)
      throw refuse('service', `is "${config?.service}", but the item is keyed by "${service}"`);
    return withAddedDefaults(config as ServiceConfig);
  }
}
