import { StartExecutionCommand } from '@aws-sdk/client-sfn';
import { PublishCommand } from '@aws-sdk/client-sns';
import { GetCommand, type GetCommandInput, PutCommand, type PutCommandInput } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CONFIG_TABLE,
  CREATED,
  context,
  doc,
  elbv2,
  handlerOf,
  installAwsMockHooks,
  SERVICE_CONFIG,
  SERVICE_TOPIC,
  STATE_MACHINE_ARN,
  serveConfigs,
  sfn,
  sns,
  stubEnv,
  TABLE,
  timeline,
  withConfigs,
} from '../helpers/aws-mocks';
import { IMAGE_DIGEST, ROLLOUT_ID, SERVICE } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

installAwsMockHooks();

/**
 * The rollout table keeping what is put (conditions not evaluated), so the lock start-rollout takes is the one it
 * reads back before it starts the execution.
 */
function rememberingTable() {
  const items = new Map<string, Record<string, unknown>>();
  const keyOf = (key: unknown) => {
    const { pk, sk } = key as { pk: string; sk: string };
    return `${pk}|${sk}`;
  };
  doc.on(PutCommand).callsFake((input: PutCommandInput) => {
    if (input.TableName === TABLE && input.Item) items.set(keyOf(input.Item), structuredClone(input.Item));
    return {};
  });
  doc.on(GetCommand).callsFake(
    withConfigs((input: GetCommandInput) => {
      const item = items.get(keyOf(input.Key));
      return item ? { Item: structuredClone(item) } : {};
    }),
  );
}

describe('start-rollout', () => {
  it('starts an execution named after the service and digest for an ECR push', async () => {
    // Act
    rememberingTable();
    sfn.on(StartExecutionCommand).resolves({
      executionArn: `arn:aws:states:us-east-1:123456789012:execution:canary-rollout:${ROLLOUT_ID}`,
      startDate: new Date(),
    });
    const { handler } = await import('../../functions/handlers/start-rollout');
    const result = await handler(loadEvent('ecr/push'), context);

    // Assess
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
    // Only the service's config was read (whether it takes such pushes): nothing written, nothing started.
    expect(timeline()).toEqual(['doc:GetCommand', 'doc:GetCommand']);
    expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input.TableName)).toEqual([
      CONFIG_TABLE,
      CONFIG_TABLE,
    ]);
  });

  it('starts a rollout for the tagged index of a multi-arch image', async () => {
    // Prepare
    rememberingTable();
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y' });
    const { handler } = await import('../../functions/handlers/start-rollout');

    // Act
    const result = await handler(loadEvent('ecr/push-index'), context);

    // Assess
    expect(result).toMatchObject({ status: 'started' });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(1);
  });

  it('starts a rollout for an untagged image when the service takes untagged pushes', async () => {
    // Act
    serveConfigs([{ ...SERVICE_CONFIG, pushes: 'images' }]);
    rememberingTable();
    sfn
      .on(StartExecutionCommand)
      .resolves({ executionArn: 'arn:aws:states:us-east-1:123456789012:execution:x:y' });
    const { handler } = await import('../../functions/handlers/start-rollout');

    // Assess
    expect(await handler(loadEvent('ecr/push-untagged'), context)).toMatchObject({ status: 'started' });
    expect(await handler(loadEvent('ecr/push-artifact'), context)).toMatchObject({ status: 'ignored' });
  });

  it('rejects a malformed event with InputInvalid and sends nothing', async () => {
    const { handler } = await import('../../functions/handlers/start-rollout');
    const event = loadEvent('ecr/push') as unknown as { detail: Record<string, unknown> };
    delete event.detail['repository-name'];
    await expect(handler(event, context)).rejects.toMatchObject({ name: 'InputInvalid' });
    expect(timeline()).toEqual([]);
  });

  it('fails the cold start naming TABLE_NAME when it is missing', async () => {
    stubEnv({ TABLE_NAME: undefined });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toThrow(/TABLE_NAME/);
  });

  it('fails the cold start naming STATE_MACHINE_ARN when it is missing', async () => {
    stubEnv({ STATE_MACHINE_ARN: undefined });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toThrow(/STATE_MACHINE_ARN/);
  });

  it('fails the cold start naming CONFIG_TABLE_NAME when it is missing', async () => {
    stubEnv({ CONFIG_TABLE_NAME: undefined });
    await expect(import('../../functions/handlers/start-rollout')).rejects.toThrow(/CONFIG_TABLE_NAME/);
  });

  it('refuses a push with ConfigInvalid, naming the service and the field, when its stored config is not the deploy’s', async () => {
    serveConfigs([{ ...SERVICE_CONFIG, pushes: 'sometimes' as never }]);
    const { handler } = await import('../../functions/handlers/start-rollout');

    await expect(handler(loadEvent('ecr/push'), context)).rejects.toMatchObject({
      name: 'ConfigInvalid',
      message: expect.stringMatching(/service config "web".*config: not sealed: deploy this release/s),
    });
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(0);
  });
});

describe('notification channels', () => {
  it('start-rollout refuses a quarantined image on the service’s topic', async () => {
    // Act
    doc.on(GetCommand).callsFake(
      withConfigs((input: GetCommandInput) =>
        (input.Key as { sk: string }).sk === `QUARANTINE#${IMAGE_DIGEST}`
          ? {
              Item: {
                pk: `SERVICE#${SERVICE}`,
                sk: `QUARANTINE#${IMAGE_DIGEST}`,
                service: SERVICE,
                digest: IMAGE_DIGEST,
                reason: 'CanaryFailed: errorRate',
                at: CREATED,
              },
            }
          : {},
      ),
    );
    const handler = await handlerOf('start-rollout');

    // Assess
    await expect(handler(loadEvent('ecr/push'), context)).resolves.toMatchObject({ status: 'refused' });

    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        TopicArn: SERVICE_TOPIC,
        MessageAttributes: expect.objectContaining({
          event: { DataType: 'String', StringValue: 'rollout.refused' },
        }),
      }),
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });
});
