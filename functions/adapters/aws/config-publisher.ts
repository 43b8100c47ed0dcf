/**
 * Writes the service configs into the controller's config table at deploy time (the stack's custom resource,
 * functions/handlers/publish-configs.ts): one item per service and per repository (config-catalog.ts), and
 * deletes the items of services no longer configured.
 *
 * BatchWriteItem takes at most 25 put or delete requests per call and is not atomic: requests DynamoDB did not
 * process come back in UnprocessedItems, to be sent again, with exponential backoff (DynamoDB API Reference,
 * BatchWriteItem). Puts go before deletes, so a service being renamed is never missing from the table.
 */
import { BatchWriteCommand, type DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { ServiceConfig } from '../../core/config';
import { TransientError } from '../../core/errors';
import { configItems, scanItems } from './config-catalog';
import { type AdapterOptions, AwsCaller, backoffDelay, realSleep } from './sdk';

/** BatchWriteItem's limit on requests per call (DynamoDB API Reference). */
export const BATCH_WRITE_LIMIT = 25;
/** Rounds of resending unprocessed requests before the deploy fails (and CloudFormation rolls it back). */
const UNPROCESSED_ROUNDS = 8;

type WriteRequest =
  | { PutRequest: { Item: Record<string, unknown> } }
  | { DeleteRequest: { Key: { pk: string } } };

export interface PublishResult {
  version: string;
  written: number;
  deleted: number;
}

export class ConfigPublisher {
  private readonly aws: AwsCaller;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly doc: DynamoDBDocumentClient,
    private readonly tableName: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
    this.sleep = options.retry?.sleep ?? realSleep;
    this.random = options.retry?.random ?? Math.random;
  }

  /** Make the table hold exactly `configs` (parsed by parseServiceConfigs), each item stamped with `version`. */
  async publish(configs: readonly ServiceConfig[], version: string, at: Date): Promise<PublishResult> {
    const items = configItems(configs, version, at.toISOString());
    const wanted = new Set(items.map((i) => i.pk));
    const stale = (await this.keys()).filter((pk) => !wanted.has(pk));
    await this.write(items.map((Item) => ({ PutRequest: { Item: { ...Item } } })));
    await this.write(stale.map((pk) => ({ DeleteRequest: { Key: { pk } } })));
    return { version, written: items.length, deleted: stale.length };
  }

  /** Every key in the table. */
  private async keys(): Promise<string[]> {
    const items = await scanItems(this.aws, this.doc, {
      TableName: this.tableName,
      ProjectionExpression: 'pk',
    });
    return items.map((item) => String(item.pk));
  }

  private async write(requests: WriteRequest[]): Promise<void> {
    for (let i = 0; i < requests.length; i += BATCH_WRITE_LIMIT) {
      let batch = requests.slice(i, i + BATCH_WRITE_LIMIT);
      for (let round = 0; batch.length > 0; round++) {
        if (round === UNPROCESSED_ROUNDS)
          throw new TransientError(
            `dynamodb:BatchWriteItem on ${this.tableName}: ${batch.length} request(s) still unprocessed after ${round} rounds`,
          );
        if (round > 0)
          await this.sleep(
            backoffDelay(round - 1, { baseDelayMs: 100, maxDelayMs: 5000, random: this.random }),
          );
        const out = await this.aws.call('dynamodb:BatchWriteItem', this.tableName, () =>
          this.doc.send(new BatchWriteCommand({ RequestItems: { [this.tableName]: batch } })),
        );
        batch = (out.UnprocessedItems?.[this.tableName] ?? []) as WriteRequest[];
      }
    }
  }
}
