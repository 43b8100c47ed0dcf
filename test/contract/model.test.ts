import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { AlbTrafficRouter } from '../../functions/adapters/aws/alb';
import { DynamoRolloutStore } from '../../functions/adapters/aws/dynamodb';
import { CANARY_TG, LISTENER_ARN, route, STABLE_TG } from '../adapters/helpers';
import { mockClient, verifyContracts } from './mock';
import { modelledServices, staleAllowances, validateRequest } from './model';
import { checkMockedRequests } from './registry';

const ELB = 'Elastic Load Balancing v2';

const modifyListener = (weights: [number, number], extra: Record<string, unknown> = {}) => ({
  ListenerArn: LISTENER_ARN,
  DefaultActions: [
    {
      Type: 'forward',
      ForwardConfig: {
        TargetGroups: [
          { TargetGroupArn: STABLE_TG, Weight: weights[0] },
          { TargetGroupArn: CANARY_TG, Weight: weights[1] },
        ],
        TargetGroupStickinessConfig: { Enabled: true, DurationSeconds: 300 },
      },
      ...extra,
    },
  ],
});

describe('validateRequest', () => {
  it('accepts a request the model allows', () => {
    expect(validateRequest(ELB, 'ModifyListener', modifyListener([95, 5]))).toEqual([]);
  });

  it.each([
    [
      'a missing required member',
      ELB,
      'ModifyListener',
      { DefaultActions: [] },
      'ModifyListener.ListenerArn: required member of ModifyListenerInput is missing',
    ],
    [
      'an unknown member, naming the model version',
      ELB,
      'ModifyListener',
      modifyListener([95, 5], { Weight: 5 }),
      'ModifyListener.DefaultActions[0].Weight: Action has no member "Weight" in Elastic Load Balancing v2 API 2015-12-01 (botocore',
    ],
    [
      'a value outside the enum',
      ELB,
      'ModifyListener',
      modifyListener([95, 5], { Type: 'weighted-forward' }),
      '"weighted-forward" is not one of ActionTypeEnum: forward, authenticate-oidc',
    ],
    [
      'a number outside its range',
      ELB,
      'CreateRule',
      { ListenerArn: LISTENER_ARN, Priority: 0, Conditions: [], Actions: [] },
      'CreateRule.Priority: value 0 is below the minimum 1',
    ],
    [
      'a string longer than its maximum',
      'SFN',
      'StopExecution',
      { executionArn: 'arn:aws:states:us-east-1:123456789012:execution:m:e', error: 'E'.repeat(257) },
      'StopExecution.error: length 257 is above the maximum 256',
    ],
    [
      'a list longer than its maximum',
      'CloudWatch',
      'DescribeAlarms',
      { AlarmNames: Array.from({ length: 101 }, (_, i) => `alarm-${i}`) },
      'DescribeAlarms.AlarmNames: list length 101 is above the maximum 100',
    ],
    [
      'a value not matching the whole pattern',
      'ECR',
      'DescribeImages',
      { repositoryName: 'Acme/Web', imageIds: [{ imageTag: 'v1' }] },
      'DescribeImages.repositoryName: the string "Acme/Web" does not match RepositoryName\'s pattern',
    ],
    [
      'a wrong type',
      ELB,
      'ModifyListener',
      { ListenerArn: LISTENER_ARN, Port: '443' },
      'ModifyListener.Port: expected an integer (Port), got the string "443"',
    ],
    [
      'a timestamp that is not a Date',
      'CloudWatch',
      'GetMetricData',
      { MetricDataQueries: [], StartTime: '2026-03-14T09:30:00Z', EndTime: new Date() },
      'GetMetricData.StartTime: expected a valid Date',
    ],
    [
      'null for a member',
      'SNS',
      'Publish',
      { TopicArn: 'arn:aws:sns:us-east-1:123456789012:t', Message: 'm', Subject: null },
      'Publish.Subject: null is not a value of subject',
    ],
    [
      'an operation the service does not have',
      'SNS',
      'PublishEverything',
      {},
      'has no operation PublishEverything',
    ],
  ])('rejects %s', (_what, serviceId, operation, input, message) => {
    const violations = validateRequest(serviceId, operation, input);
    expect(violations.map((v) => `${v.path}: ${v.message}`).join('\n')).toContain(message);
  });

  it('names the missing model for a service without one', () => {
    expect(() => validateRequest('Route 53 Resolver', 'ChangeResourceRecordSets', {})).toThrow(
      /no API model for service "Route 53 Resolver".*update-models\.ts/,
    );
  });

  // The range is in the API reference (API_TargetGroupTuple: "The range is 0 to 999"), not in the model.
  it("does not know ALB's weight range: the adapters' tests must assert it", () => {
    expect(validateRequest(ELB, 'ModifyListener', modifyListener([0, 1000]))).toEqual([]);
  });

  it('has a model per service the controller calls, and no allowance the model now covers', () => {
    expect(modelledServices()).toEqual(
      expect.arrayContaining([
        'CloudWatch',
        'DynamoDB',
        'ECR',
        'ECS',
        ELB,
        'EventBridge',
        'IAM',
        'SFN',
        'SNS',
        'Secrets Manager',
        'XRay',
      ]),
    );
    expect(staleAllowances()).toEqual([]);
  });
});

describe('the contract layer on the SDK mocks', () => {
  it('fails a test whose adapter sends a request the model rejects (header rule priority 0)', async () => {
    const client = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
    const elb = mockClient(client);
    elb.onAnyCommand().resolves({
      Listeners: [
        {
          ListenerArn: LISTENER_ARN,
          DefaultActions: [
            { Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: STABLE_TG }] } },
          ],
        },
      ],
      Rules: [],
    });
    // The config refuses priority 0; a route built around it reaches the adapter as-is.
    const r = route({ headerRule: { header: 'X-Canary', values: ['always'], priority: 0 } });
    await new AlbTrafficRouter(client, { retry: { sleep: async () => undefined } }).setWeights(r, 5);
    // What the after-each hook of every test file runs.
    await expect(checkMockedRequests()).rejects.toThrow(
      /Elastic Load Balancing v2 CreateRule request rejected[\s\S]*CreateRule\.Priority: value 0 is below the minimum 1/,
    );
    // Checked once: the hook finds nothing left after this test.
    expect(() => verifyContracts()).not.toThrow();
    elb.restore();
  });

  it('checks DocumentClient commands as the DynamoDB request they become', async () => {
    const doc = DynamoDBDocumentClient.from(new DynamoDBClient({ region: 'us-east-1' }));
    const mock = mockClient(doc);
    mock.onAnyCommand().resolves({});
    await new DynamoRolloutStore(doc, '').getLock('web');
    expect(() => verifyContracts()).toThrow(
      /DynamoDB GetItem request rejected[\s\S]*GetItem\.TableName: length 0 is below the minimum 1/,
    );
    // The key as the DocumentClient marshalls it: AttributeValues the model accepts.
    await new DynamoRolloutStore(doc, 'canary-rollouts').getLock('web');
    expect(() => verifyContracts()).not.toThrow();
    mock.restore();
  });
});
