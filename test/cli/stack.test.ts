/** The CLI's settings from a stack name: the stack's outputs, then the services from its config table. */

import type { AddressInfo } from 'node:net';
import { CloudFormationClient, DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { CreateTableCommand, DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { DynamoDBDocumentClient, ScanCommand } from '@aws-sdk/lib-dynamodb';
import dynalite from 'dynalite';
import { afterEach, describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { configTableReader, type StackClients, withStackSettings } from '../../cli/stack';
import { CONFIG_TABLE_SCHEMA, configItems } from '../../functions/adapters/aws/config-catalog';
import { ConfigPublisher } from '../../functions/adapters/aws/config-publisher';
import { DOCUMENT_OPTIONS } from '../../functions/adapters/aws/dynamodb/options';
import { parseServiceConfigs } from '../../functions/core/config';
import { mockClient } from '../contract/mock';
import { validServiceConfig } from '../helpers/config';

const STACK = 'CanaryControllerStack';
const OUTPUTS = [
  { OutputKey: 'TableName', OutputValue: 'canary-rollouts' },
  { OutputKey: 'ServiceConfigTableName', OutputValue: 'canary-service-configs' },
  {
    OutputKey: 'StateMachineArn',
    OutputValue: 'arn:aws:states:us-east-1:123456789012:stateMachine:CanaryControllerStack-rollouts',
  },
  { OutputKey: 'EventBusName', OutputValue: 'canary-controller' },
  { OutputKey: 'TopicArn', OutputValue: 'arn:aws:sns:us-east-1:123456789012:rollouts' },
  { OutputKey: 'ControllerRoles', OutputValue: '{"start-rollout":"arn:aws:iam::123456789012:role/start"}' },
  { OutputKey: 'ControllerTag', OutputValue: STACK },
];
const CONFIGS = parseServiceConfigs([validServiceConfig()]);
const described = (Outputs = OUTPUTS) => ({
  Stacks: [
    {
      StackName: STACK,
      CreationTime: new Date('2026-11-01T00:00:00Z'),
      StackStatus: 'UPDATE_COMPLETE' as const,
      Outputs,
    },
  ],
});

describe('withStackSettings', () => {
  const cloudformation = new CloudFormationClient({ region: 'us-east-1' });
  const cfn = mockClient(cloudformation);
  const tablesRead: string[] = [];
  const clients: StackClients = {
    cloudformation,
    services: async (table) => {
      tablesRead.push(table);
      return CONFIGS;
    },
  };
  afterEach(() => {
    cfn.reset();
    tablesRead.length = 0;
  });

  it('fills every setting from the outputs and the services from the config table', async () => {
    cfn.on(DescribeStacksCommand, { StackName: STACK }).resolves(described());

    const env = await withStackSettings({ AWS_REGION: 'us-east-1' }, STACK, clients);

    expect(env).toMatchObject({
      AWS_REGION: 'us-east-1',
      TABLE_NAME: 'canary-rollouts',
      CONFIG_TABLE_NAME: 'canary-service-configs',
      STATE_MACHINE_ARN: OUTPUTS[2]?.OutputValue,
      EVENT_BUS_NAME: 'canary-controller',
      CONTROLLER_ROLES: OUTPUTS[5]?.OutputValue,
      CONTROLLER_TAG: STACK,
    });
    expect(JSON.parse(env.SERVICES_JSON ?? '[]')).toEqual(CONFIGS);
    expect(tablesRead).toEqual(['canary-service-configs']);
  });

  it('takes the stack name from CANARY_STACK; a variable set wins over an output, an empty one does not', async () => {
    cfn.on(DescribeStacksCommand, { StackName: STACK }).resolves(described());

    const env = await withStackSettings(
      {
        AWS_REGION: 'us-east-1',
        CANARY_STACK: STACK,
        EVENT_BUS_NAME: 'ops',
        TABLE_NAME: '',
        SERVICES_JSON: '[]',
      },
      undefined,
      clients,
    );

    expect(env.EVENT_BUS_NAME).toBe('ops');
    expect(env.TABLE_NAME).toBe('canary-rollouts');
    expect(env.SERVICES_JSON).toBe('[]');
    expect(tablesRead).toEqual([]);
  });

  it('leaves the environment alone without a stack name, and asks nothing', async () => {
    const given = { AWS_REGION: 'us-east-1', TABLE_NAME: 't' };

    expect(await withStackSettings(given, undefined, clients)).toBe(given);
    expect(cfn.calls()).toHaveLength(0);
  });

  it('refuses a stack without the controller’s outputs, naming it', async () => {
    cfn.on(DescribeStacksCommand).resolves(described([{ OutputKey: 'Other', OutputValue: 'x' }]));

    await expect(withStackSettings({ AWS_REGION: 'us-east-1' }, 'other', clients)).rejects.toThrow(
      /stack other has none of the controller's outputs \(TableName, /,
    );
    expect(tablesRead).toEqual([]);
  });
});

describe('canary --stack', () => {
  it('start puts Deploy Requested on the bus the stack names, refusing services its config table lacks', async () => {
    const cfn = mockClient(CloudFormationClient);
    const doc = mockClient(DynamoDBDocumentClient);
    const eb = mockClient(EventBridgeClient);
    const ddb = mockClient(DynamoDBClient);
    cfn
      .on(DescribeStacksCommand)
      .resolves(
        described(
          OUTPUTS.map((o) => (o.OutputKey === 'EventBusName' ? { ...o, OutputValue: 'team-bus' } : o)),
        ),
      );
    doc
      .on(ScanCommand)
      .resolves({ Items: configItems(CONFIGS, 'v1', '2026-11-29T12:00:00Z').filter((i) => i.config) });
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const out: string[] = [];
    const err: string[] = [];
    const io = {
      stdout: (s: string) => out.push(s),
      stderr: (s: string) => err.push(s),
      env: { AWS_REGION: 'us-east-1' },
      cwd: '/',
    };
    const digest = `sha256:${'ab12'.repeat(16)}`;

    try {
      expect(await main(['start', 'web', '--image', digest, '--stack', STACK], io)).toBe(0);
      expect(await main(['start', 'nope', '--image', digest, '--stack', STACK], io)).toBe(1);

      expect(
        eb.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.[0]?.EventBusName),
      ).toEqual(['team-bus']);
      expect(doc.commandCalls(ScanCommand)[0]?.args[0].input.TableName).toBe('canary-service-configs');
      expect(err.join('')).toContain('nope');
    } finally {
      for (const m of [cfn, doc, eb, ddb]) m.restore();
    }
  });
});

describe('configTableReader', () => {
  it('reads back a config holding a number beyond 2^53 as the number the deploy published', async () => {
    const server = dynalite({ createTableMs: 0 });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const raw = new DynamoDBClient({
      endpoint: `http://127.0.0.1:${port}`,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const TableName = 'canary-service-configs-numbers';
      await raw.send(new CreateTableCommand({ TableName, ...CONFIG_TABLE_SCHEMA }));
      while ((await raw.send(new DescribeTableCommand({ TableName }))).Table?.TableStatus !== 'ACTIVE')
        await new Promise((resolve) => setTimeout(resolve, 5));
      const base = validServiceConfig();
      const configs = parseServiceConfigs([
        { ...base, analysis: { ...base.analysis, latency: { p99MaxMs: 2 ** 60 } } },
      ]);
      const doc = DynamoDBDocumentClient.from(raw, DOCUMENT_OPTIONS);
      await new ConfigPublisher(doc, TableName).publish(configs, 'v1', new Date('2026-11-29T12:00:00Z'));

      expect(await configTableReader(raw)(TableName)).toEqual(configs);
    } finally {
      raw.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
