/**
 * The analysis's writes (the verdict on the record, the judged periods in their item) against dynalite with the
 * handlers' document-client options: the evidence of a long healthy canary (an e-value of about 1e21 before the
 * judge's ceiling) and a gauge measured in bytes (2e20, beyond 2^53) are written, and read back as the numbers they
 * were.
 */
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DOCUMENT_OPTIONS,
  DynamoRolloutStore,
  dynamoJudgedPeriods,
  ROLLOUT_TABLE_SCHEMA,
} from '../../functions/adapters/aws/dynamodb';
import { customMetrics } from '../../functions/core/custom-metrics';
import { judge, type MetricWindow } from '../../functions/core/judge';
import { customPeriodValues, periodCounts } from '../../functions/core/late-metrics';
import { E_VALUE_CEILING } from '../../functions/core/stats/storable';
import { validParsedConfig } from '../helpers/config';
import { DIGEST, fastRetry } from './helpers';

const server = dynalite({ createTableMs: 0 });
let raw: DynamoDBClient;
const TABLE = 'canary-rollouts-numbers';

beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  raw = new DynamoDBClient({
    endpoint: `http://127.0.0.1:${port}`,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
  await raw.send(new CreateTableCommand({ TableName: TABLE, ...ROLLOUT_TABLE_SCHEMA }));
});

afterAll(async () => {
  raw.destroy();
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

const START = Date.parse('2025-03-14T09:30:00Z');
const at = (i: number) => new Date(START + i * 60_000).toISOString();
const MINUTES = 2500;
const DIM = { name: 'Service', canary: 'web-canary', stable: 'web' };

/** 2,500 minutes of a canary with no failures beside a stable version failing 1%, and a gauge in bytes. */
function healthyWindow(): MetricWindow {
  const side = (requests: number, errors: number) =>
    Array.from({ length: MINUTES }, (_, i) => ({ start: at(i), requests, errors, p99Ms: 250 }));
  const bytes = (value: number) => Array.from({ length: MINUTES }, (_, i) => ({ start: at(i), value }));
  return {
    from: at(0),
    to: at(MINUTES),
    periodSeconds: 60,
    canary: side(100, 0),
    baseline: side(1900, 19),
    custom: [{ name: 'egress', canary: bytes(2e20), baseline: bytes(2.1e20) }],
  };
}

describe('DynamoRolloutStore: the numbers of an analysis', () => {
  it('records the verdict of a long healthy canary and reads it back unchanged', async () => {
    const config = validParsedConfig({
      analysis: {
        alarms: undefined,
        metrics: [
          {
            name: 'egress',
            kind: 'gauge',
            versionDimension: DIM,
            value: { namespace: 'Shop', metricName: 'EgressBytes' },
          },
        ],
      } as never,
    });
    const custom = customMetrics(config);
    const window = healthyWindow();
    const verdict = judge(window, [], config.analysis, custom);
    const judgedPeriods = { alb: periodCounts(window), custom: customPeriodValues(window, custom) };
    const store = new DynamoRolloutStore(DynamoDBDocumentClient.from(raw, DOCUMENT_OPTIONS), TABLE, {
      retry: fastRetry().retry,
    });
    const rolloutId = 'web-ab12ab12ab12ab12';
    await store.putRollout({
      rolloutId,
      service: 'web',
      image: { repository: 'team/web', digest: DIGEST },
      status: 'running',
      alarms: [],
      createdAt: at(0),
      updatedAt: at(0),
    });

    const judged = dynamoJudgedPeriods(DynamoDBDocumentClient.from(raw, DOCUMENT_OPTIONS), TABLE);
    await judged.putJudgedPeriods(rolloutId, judgedPeriods);
    await store.updateRollout(rolloutId, { lastVerdict: verdict, updatedAt: at(MINUTES) });

    const back = await store.getRollout(rolloutId);
    const periods = await judged.getJudgedPeriods(rolloutId);
    expect(back?.lastVerdict).toEqual(verdict);
    expect(periods).toEqual(judgedPeriods);
    const errors = back?.lastVerdict?.metrics.find((m) => m.metric === 'errorRate');
    expect(errors?.eValueNotWorse).toBe(E_VALUE_CEILING);
    const gauge = back?.lastVerdict?.metrics.find((m) => m.metric === 'custom.egress');
    expect(gauge?.canary).toBeGreaterThan(Number.MAX_SAFE_INTEGER);
    expect(periods?.custom?.egress?.series.value?.canary[0]).toBe(2e20);
    // As DynamoDB holds it: a Number, not a string.
    const item = await raw.send(
      new GetItemCommand({
        TableName: TABLE,
        Key: { pk: { S: `ROLLOUT#${rolloutId}` }, sk: { S: 'RECORD' } },
      }),
    );
    expect(item.Item?.lastVerdict?.M?.canary?.M?.requests?.N).toBe(String(100 * MINUTES));
  });
});
