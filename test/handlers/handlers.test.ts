/**
 * The Lambda entry points, end to end through the real adapters with mocked SDK clients: configuration from the
 * environment at cold start, the exact SDK commands a real event causes, and nothing sent for a malformed event.
 */
import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { GetCommand, PutCommand, QueryCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  context,
  ddb,
  doc,
  elbv2,
  handlerOf,
  installAwsMockHooks,
  SERVICE_CONFIG,
  STATE_MACHINE_ARN,
  sfn,
  stubEnv,
  TABLE,
} from '../helpers/aws-mocks';
import { ROLLOUT_ID, SERVICE } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

installAwsMockHooks();

/** Every command sent to any mocked client, as [client, command name]. */
function sent(): string[] {
  return [
    ...doc.calls().map((c) => `doc:${c.args[0].constructor.name}`),
    ...ddb.calls().map((c) => `ddb:${c.args[0].constructor.name}`),
    ...sfn.calls().map((c) => `sfn:${c.args[0].constructor.name}`),
    ...elbv2.calls().map((c) => `elbv2:${c.args[0].constructor.name}`),
  ];
}

describe('start-rollout', () => {
  it('starts an execution named after the service and digest for an ECR push', async () => {
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:canary-rollout:${ROLLOUT_ID}`,
      startDate: new Date(),
    });
    const { handler } = await import('../../functions/handlers/start-rollout');
    const result = await handler(loadEvent('ecr/push'), context);

    expect(result).toMatchObject({ rolloutId: ROLLOUT_ID });
    const starts = sfn.commandCalls(StartExecutionCommand);
    expect(starts).toHaveLength(1);
    const input = starts[0]?.args[0].input;
    expect(input?.stateMachineArn).toBe(STATE_MACHINE_ARN);
    expect(input?.name).toMatch(new RegExp(`^${SERVICE}-[0-9a-f]{16}$`));
    expect(input?.name).toBe(ROLLOUT_ID);
    const rollout = JSON.parse(input?.input ?? '{}').rollout;
    expect(rollout).toMatchObject({ rolloutId: ROLLOUT_ID, service: SERVICE, trigger: 'ecr-push' });

    // The store is the configured table: the lock is taken there.
    const puts = doc.commandCalls(PutCommand);
    expect(puts.length).toBeGreaterThan(0);
    for (const p of puts) expect(p.args[0].input.TableName).toBe(TABLE);
    expect(elbv2.calls()).toHaveLength(0);
  });

  // ECR sends an event for every manifest pushed (Amazon ECR User Guide, "Amazon ECR events and EventBridge"):
  // a multi-arch push sends one per platform image, untagged, then the tagged index; tools push signatures too.
  it.each([
    ['ecr/push-untagged', 'the push has no tag'],
    ['ecr/push-signature', 'names an artifact attached to an image'],
    ['ecr/push-artifact', 'artifact media type application/vnd.cncf.notary.signature is not an image'],
  ] as const)('ignores %s and starts nothing', async (name, reason) => {
    const { handler } = await import('../../functions/handlers/start-rollout');

    const result = await handler(loadEvent(name), context);

    expect(result).toMatchObject({ status: 'ignored', reason: expect.stringContaining(reason) });
    expect(sent()).toEqual([]);
  });

  it('starts a rollout for the tagged index of a multi-arch image', async () => {
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y' });
    const { handler } = await import('../../functions/handlers/start-rollout');

    const result = await handler(loadEvent('ecr/push-index'), context);

    expect(result).toMatchObject({ status: 'started' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('starts a rollout for an untagged image when the service takes untagged pushes', async () => {
    stubEnv({ SERVICES_JSON: JSON.stringify([{ ...SERVICE_CONFIG, pushes: 'images' }]) });
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y' });
    const { handler } = await import('../../functions/handlers/start-rollout');

    expect(await handler(loadEvent('ecr/push-untagged'), context)).toMatchObject({ status: 'started' });
    expect(await handler(loadEvent('ecr/push-artifact'), context)).toMatchObject({ status: 'ignored' });
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/start-rollout');
    const event = loadEvent('ecr/push') as unknown as { detail: Record<string, unknown> };
    delete event.detail['repository-name'];
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(sent()).toEqual([]);
  });

  it('fails the cold start naming TABLE_NAME when it is missing', async () => {
    stubEnv({ TABLE_NAME: undefined });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toThrow(/TABLE_NAME/);
  });

  it('fails the cold start naming STATE_MACHINE_ARN when it is missing', async () => {
    stubEnv({ STATE_MACHINE_ARN: undefined });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toThrow(/STATE_MACHINE_ARN/);
  });

  it('fails the cold start on an invalid SERVICES_JSON', async () => {
    stubEnv({ SERVICES_JSON: '[{"service": 1}]' });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toMatchObject({
      name: 'ConfigInvalid',
    });
  });
});

describe('on-alarm', () => {
  it('looks up the active rollouts in the table for an alarm in ALARM', async () => {
    doc.on(QueryCommand).resolves({ Items: [] });
    const { handler } = await import('../../functions/handlers/on-alarm');
    const result = await handler(loadEvent('cloudwatch/alarm'), context);

    expect(result).toEqual({ alarm: 'web-5xx-high', stopped: [] });
    const queries = doc.commandCalls(QueryCommand);
    expect(queries).toHaveLength(1);
    expect(queries[0]?.args[0].input).toMatchObject({ TableName: TABLE, IndexName: 'active' });
    expect(sfn.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/on-alarm');
    const event = loadEvent('cloudwatch/alarm') as unknown as { detail: Record<string, unknown> };
    delete event.detail.alarmName;
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(sent()).toEqual([]);
  });

  it('does not need SERVICES_JSON', async () => {
    stubEnv({ SERVICES_JSON: undefined });
    await expect(import('../../functions/handlers/on-alarm')).resolves.toHaveProperty('handler');
  });
});

describe('reconcile', () => {
  it('reads the rollout of a failed execution from the table and leaves an unknown one alone', async () => {
    doc.on(GetCommand).resolves({});
    const { handler } = await import('../../functions/handlers/reconcile');
    const event = loadEvent('states/failed');
    const result = await handler(event, context);

    expect(result).toMatchObject({ rolloutId: event.detail.name, action: 'none', detail: 'not a rollout' });
    const gets = doc.commandCalls(GetCommand);
    expect(gets).toHaveLength(1);
    expect(gets[0]?.args[0].input.TableName).toBe(TABLE);
    expect(sfn.calls()).toHaveLength(0);
    expect(elbv2.calls()).toHaveLength(0);
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/reconcile');
    const event = loadEvent('states/failed') as unknown as { detail: Record<string, unknown> };
    event.detail.status = 42;
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(sent()).toEqual([]);
  });
});

describe('workflow tasks', () => {
  it.each([
    'prepare',
    'set-weight',
    'check-ready',
    'bake',
    'analyze',
    'request-approval',
    'promote',
    'rollback',
    'notify',
  ])('%s rejects a malformed input with InputInvalid and sends nothing', async (name) => {
    const handler = await handlerOf(name);
    await expect(handler({ rollout: { rolloutId: 42 } }, context)).rejects.toMatchObject({
      name: 'InputInvalid',
    });
    expect(sent()).toEqual([]);
  });

  it('prepare fails the cold start naming AWS_REGION when it is missing', async () => {
    stubEnv({ AWS_REGION: undefined });
    await expect(import('../../functions/handlers/prepare')).rejects.toThrow(/AWS_REGION/);
  });
});
