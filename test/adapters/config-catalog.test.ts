/**
 * The service-config table: the deploy's publisher and the functions' catalog against dynalite (a
 * DynamoDB-compatible engine), so batches, scans and keys run for real; the cache's bound and lifetime and the
 * publisher's resending of unprocessed requests through mocked clients, each request checked against DynamoDB's
 * API model.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  BatchWriteCommand,
  DynamoDBDocumentClient,
  GetCommand,
  PutCommand,
  ScanCommand,
} from '@aws-sdk/lib-dynamodb';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  CONFIG_TABLE_SCHEMA,
  configItems,
  DynamoServiceCatalog,
  sealOf,
  serviceKey,
} from '../../functions/adapters/aws/config-catalog';
import { BATCH_WRITE_LIMIT, ConfigPublisher } from '../../functions/adapters/aws/config-publisher';
import { parseServiceConfigs, type ServiceConfig } from '../../functions/core/config';
import { ACCEPTED_CONFIG_SCHEMA_VERSIONS, CONFIG_SCHEMA_VERSION } from '../../functions/core/config-version';
import { ConfigInvalidError, TransientError } from '../../functions/core/errors';
import { mockClient } from '../contract/mock';
import { dynaliteTable } from './dynalite-table';
import { fastRetry, serviceConfigInput } from './helpers';

/** `n` services, each with its own route, target groups and repository. */
function services(n: number, extra: (i: number) => object = () => ({})): ServiceConfig[] {
  return parseServiceConfigs(
    Array.from({ length: n }, (_, i) => {
      const base = serviceConfigInput();
      const hex = i.toString(16).padStart(16, '0');
      return {
        ...base,
        service: `svc-${i}`,
        repository: `team/svc-${i}`,
        traffic: {
          ...base.traffic,
          listenerArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/lb/50dc6c495c0c9188/${hex}`,
          stableTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/s${i}/${hex}`,
          canaryTargetGroupArn: `arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/c${i}/${hex}`,
        },
        ...extra(i),
      };
    }),
  );
}

const at = new Date('2026-11-29T12:00:00Z');

describe('service configs over dynalite', () => {
  const { doc, tableName } = dynaliteTable({
    prefix: 'canary-service-configs',
    schema: CONFIG_TABLE_SCHEMA,
    documentOptions: { marshallOptions: { removeUndefinedValues: true } },
  });

  const keys = async () =>
    ((await doc().send(new ScanCommand({ TableName: tableName() }))).Items ?? [])
      .map((i) => i.pk as string)
      .sort();

  it('publishes one item per service and per repository, stamped with the version, over several batches', async () => {
    const configs = services(30);

    const send = vi.spyOn(doc(), 'send');

    const result = await new ConfigPublisher(doc(), tableName()).publish(configs, 'v1', at);

    const batches = send.mock.calls.filter(([command]) => command instanceof BatchWriteCommand);
    send.mockRestore();
    expect(result).toEqual({ version: 'v1', written: 60, deleted: 0 });
    expect(batches).toHaveLength(Math.ceil(60 / BATCH_WRITE_LIMIT));
    expect(await keys()).toHaveLength(60);
    const item = (
      await doc().send(new GetCommand({ TableName: tableName(), Key: { pk: serviceKey('svc-7') } }))
    ).Item;
    expect(item).toMatchObject({
      service: 'svc-7',
      repository: 'team/svc-7',
      version: 'v1',
      deployedAt: at.toISOString(),
    });
    const catalog = new DynamoServiceCatalog(doc(), tableName());
    expect(await catalog.byName('svc-7')).toEqual(configs[7]);
    expect(await catalog.byRepository('team/svc-29')).toEqual(configs[29]);
    expect(await catalog.byName('nope')).toBeUndefined();
    expect(await catalog.byRepository('team/nope')).toBeUndefined();
    expect((await catalog.list()).map((c) => c.service)).toHaveLength(30);
  });

  it('on update writes the new configs and deletes the services no longer configured', async () => {
    const publisher = new ConfigPublisher(doc(), tableName());
    await publisher.publish(services(3), 'v1', at);
    const changed = services(2, () => ({ steps: 'Canary10Percent5Minutes' }));

    const result = await publisher.publish(changed, 'v2', at);

    expect(result).toEqual({ version: 'v2', written: 4, deleted: 2 });
    expect(await keys()).toEqual([
      'REPOSITORY#team/svc-0',
      'REPOSITORY#team/svc-1',
      'SERVICE#svc-0',
      'SERVICE#svc-1',
    ]);
    const catalog = new DynamoServiceCatalog(doc(), tableName());
    expect((await catalog.byName('svc-1'))?.steps).toBe('Canary10Percent5Minutes');
    expect(await catalog.byName('svc-2')).toBeUndefined();
    expect(await catalog.byRepository('team/svc-2')).toBeUndefined();
  });

  it('reads back the config the deploy sealed, through DynamoDB, as it was validated', async () => {
    const configs = services(2, (i) =>
      i === 1
        ? {
            steps: [
              { weight: 12.5, bakeSeconds: 60 },
              { weight: 100, bakeSeconds: 0 },
            ],
          }
        : {},
    );
    await new ConfigPublisher(doc(), tableName()).publish(configs, 'v1', at);

    const catalog = new DynamoServiceCatalog(doc(), tableName());

    expect(await catalog.byName('svc-0')).toEqual(configs[0]);
    expect(await catalog.byRepository('team/svc-1')).toEqual(configs[1]);
  });

  it('refuses an item changed since the deploy sealed it, naming the service and the field', async () => {
    const [config] = services(1);
    const [item] = configItems([config as ServiceConfig], 'v1', at.toISOString());
    await doc().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...item, config: { ...config, deployer: { ...config?.deployer, cluster: '' } } },
      }),
    );

    const read = new DynamoServiceCatalog(doc(), tableName()).byName('svc-0');

    await expect(read).rejects.toThrow(ConfigInvalidError);
    await expect(new DynamoServiceCatalog(doc(), tableName()).byName('svc-0')).rejects.toThrow(
      /service config "svc-0".*config: does not match its seal/s,
    );
  });

  it.each([
    ['without a seal', { seal: undefined }],
    ['without the schema version', { schema: undefined }],
  ])('refuses an item %s as not sealed, naming the service and the field', async (_, change) => {
    const [item] = configItems(services(1), 'v1', at.toISOString());
    await doc().send(new PutCommand({ TableName: tableName(), Item: { ...item, ...change } }));

    await expect(new DynamoServiceCatalog(doc(), tableName()).byName('svc-0')).rejects.toThrow(
      /service config "svc-0".*config: not sealed: deploy this release/s,
    );
  });

  it('refuses an item without a config, naming the service and the field', async () => {
    const [item] = configItems(services(1), 'v1', at.toISOString());
    await doc().send(new PutCommand({ TableName: tableName(), Item: { ...item, config: undefined } }));

    await expect(new DynamoServiceCatalog(doc(), tableName()).byName('svc-0')).rejects.toThrow(
      /service config "svc-0".*config: missing/s,
    );
  });

  it('refuses a config sealed for a schema version this release does not know, even with a matching seal', async () => {
    const [config] = services(1) as [ServiceConfig];
    const [item] = configItems([config], 'v1', at.toISOString());
    await doc().send(
      new PutCommand({
        TableName: tableName(),
        Item: { ...item, schema: 'earlier', seal: sealOf('earlier', config) },
      }),
    );

    await expect(new DynamoServiceCatalog(doc(), tableName()).byName('svc-0')).rejects.toThrow(
      /service config "svc-0".*config: sealed for schema "earlier"; deploy this release to re-seal/s,
    );
  });

  it('accepts only the schema versions this release names, the current one among them', () => {
    expect(ACCEPTED_CONFIG_SCHEMA_VERSIONS).toContain(CONFIG_SCHEMA_VERSION);
  });

  it('a rollout keeps the config it started with; a new rollout sees the deployed change once the cache expires', async () => {
    const publisher = new ConfigPublisher(doc(), tableName());
    await publisher.publish(services(1), 'v1', at);
    let now = 0;
    const catalog = new DynamoServiceCatalog(doc(), tableName(), {
      cache: { ttlMs: 60_000, now: () => now },
    });
    // What start-rollout puts in the rollout document (the execution input): the object the catalog returned.
    const running = await catalog.byName('svc-0');

    await publisher.publish(
      services(1, () => ({ steps: 'Canary10Percent5Minutes' })),
      'v2',
      at,
    );
    now = 59_000;
    const beforeExpiry = await catalog.byName('svc-0');
    now = 60_000;
    const next = await catalog.byName('svc-0');

    expect(running?.steps).toBe('Progressive5To100');
    expect(beforeExpiry?.steps).toBe('Progressive5To100');
    expect(next?.steps).toBe('Canary10Percent5Minutes');
  });
});

describe('the catalog cache', () => {
  const [web, api, jobs] = services(3) as [ServiceConfig, ServiceConfig, ServiceConfig];
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const mock = mockClient(client);
  const items = new Map(configItems([web, api, jobs], 'v1', at.toISOString()).map((i) => [i.pk, i]));

  beforeEach(() => {
    mock.reset();
    mock.on(GetCommand).callsFake((input) => ({ Item: items.get(input.Key.pk) }));
  });
  const reads = () => mock.commandCalls(GetCommand).map((c) => c.args[0].input.Key?.pk);

  it('reads a found item once while it is fresh, and a missing one every time (a service a deploy adds is seen at once)', async () => {
    const catalog = new DynamoServiceCatalog(client, 'configs', { cache: { now: () => 0 } });

    await catalog.byName(web.service);
    await catalog.byName(web.service);
    await catalog.byRepository('team/unknown');
    await catalog.byRepository('team/unknown');

    expect(reads()).toEqual([serviceKey(web.service), 'REPOSITORY#team/unknown', 'REPOSITORY#team/unknown']);
  });

  it('keeps at most maxEntries, dropping the least recently used', async () => {
    const catalog = new DynamoServiceCatalog(client, 'configs', { cache: { maxEntries: 2, now: () => 0 } });

    await catalog.byName(web.service);
    await catalog.byName(api.service);
    await catalog.byName(web.service); // web is now the most recently used
    await catalog.byName(jobs.service); // drops api
    await catalog.byName(web.service);
    await catalog.byName(api.service);

    expect(reads()).toEqual([web, api, jobs, api].map((c) => serviceKey(c.service)));
  });
});

describe('ConfigPublisher', () => {
  const client = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
  const mock = mockClient(client);
  beforeEach(() => mock.reset());

  it('sends the unprocessed requests again, with backoff, until none is left', async () => {
    const retry = fastRetry();
    mock.on(ScanCommand).resolves({ Items: [{ pk: 'SERVICE#old' }, { pk: 'REPOSITORY#team/old' }] });
    mock
      .on(BatchWriteCommand)
      .callsFakeOnce((input) => ({
        UnprocessedItems: { configs: input.RequestItems.configs.slice(1) },
      }))
      .resolves({ UnprocessedItems: {} });

    const result = await new ConfigPublisher(client, 'configs', retry).publish(services(1), 'v1', at);

    const batches = mock
      .commandCalls(BatchWriteCommand)
      .map((c) => c.args[0].input.RequestItems?.configs ?? []);
    expect(batches.map((b) => b.length)).toEqual([2, 1, 2]);
    expect(batches[1]?.[0]?.PutRequest?.Item?.pk).toBe('REPOSITORY#team/svc-0');
    expect(batches[2]?.map((r) => r.DeleteRequest?.Key?.pk)).toEqual(['SERVICE#old', 'REPOSITORY#team/old']);
    expect(retry.sleeps).toHaveLength(1);
    expect(result).toEqual({ version: 'v1', written: 2, deleted: 2 });
  });

  it('gives up as Transient when DynamoDB keeps returning unprocessed requests', async () => {
    mock.on(ScanCommand).resolves({ Items: [] });
    mock.on(BatchWriteCommand).callsFake((input) => ({ UnprocessedItems: input.RequestItems }));

    const publish = new ConfigPublisher(client, 'configs', fastRetry()).publish(services(1), 'v1', at);

    await expect(publish).rejects.toThrow(TransientError);
    await expect(publish).rejects.toThrow(/2 request\(s\) still unprocessed/);
  });
});
