/**
 * The deploy-time publisher (the custom resource's onEvent handler): Create and Update publish the asset's configs,
 * validated again, under the asset's version; Delete publishes nothing; a bad asset fails the deploy and writes
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import type { ServiceConfig } from '../../functions/core/config';
import { ConfigInvalidError } from '../../functions/core/errors';
import { makePublishConfigs, PHYSICAL_ID, type PublishEvent } from '../../functions/handlers/publish-configs';
import { serviceConfigInput } from '../adapters/helpers';

const at = new Date('2026-11-29T12:00:00Z');
const properties = { TableName: 'configs', Bucket: 'cdk-assets', Key: 'abc123.json', Version: 'abc123' };

function publisher(asset: string) {
  const published: { table: string; services: string[]; version: string; at: Date }[] = [];
  const reads: string[] = [];
  const handler = makePublishConfigs({
    read: async (bucket, key) => {
      reads.push(`s3://${bucket}/${key}`);
      return asset;
    },
    publisher: (table) => ({
      publish: async (configs: readonly ServiceConfig[], version: string, when: Date) => {
        published.push({ table, services: configs.map((c) => c.service), version, at: when });
        return { version, written: configs.length * 2, deleted: 0 };
      },
    }),
    now: () => at,
  });
  return { handler, published, reads };
}

describe('publish-configs', () => {
  it.each(['Create', 'Update'] as const)(
    '%s publishes the asset’s configs under its version',
    async (type) => {
      const { handler, published, reads } = publisher(JSON.stringify([serviceConfigInput()]));

      const result = await handler({ RequestType: type, ResourceProperties: properties });

      expect(reads).toEqual(['s3://cdk-assets/abc123.json']);
      expect(published).toEqual([{ table: 'configs', services: ['web'], version: 'abc123', at }]);
      expect(result).toEqual({ PhysicalResourceId: PHYSICAL_ID, Data: { Version: 'abc123', Services: '1' } });
    },
  );

  it('Delete publishes nothing and keeps the physical id', async () => {
    const { handler, published, reads } = publisher('[]');
    const event: PublishEvent = {
      RequestType: 'Delete',
      PhysicalResourceId: PHYSICAL_ID,
      ResourceProperties: properties,
    };

    expect(await handler(event)).toEqual({ PhysicalResourceId: PHYSICAL_ID });
    expect(reads).toEqual([]);
    expect(published).toEqual([]);
  });

  it('refuses an asset that is not valid configs, naming the field, and publishes nothing', async () => {
    const bad = publisher(JSON.stringify([{ ...serviceConfigInput(), steps: 'Sometimes' }]));
    const notJson = publisher('[{');

    await expect(bad.handler({ RequestType: 'Update', ResourceProperties: properties })).rejects.toThrow(
      /\[0\]\.steps/,
    );
    await expect(notJson.handler({ RequestType: 'Update', ResourceProperties: properties })).rejects.toThrow(
      ConfigInvalidError,
    );
    expect([...bad.published, ...notJson.published]).toEqual([]);
  });
});
