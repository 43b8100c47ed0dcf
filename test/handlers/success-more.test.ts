/**
 * The remaining Lambda entry points on their success paths, through middy and the real adapters with mocked SDK
 * clients (fixtures in test/helpers/aws-mocks.ts): check-ready, bake, promote (begin, shiftBack, finish),
 * rollback and notify, asserting the exact SDK commands, their inputs and their order.
 */
import { DescribeServicesCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeTargetHealthCommand,
  type DescribeTargetHealthCommandOutput,
  ModifyListenerCommand,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PublishCommand } from '@aws-sdk/client-sns';
import { DeleteCommand, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  CANARY_STARTED,
  CANARY_TASK_DEF,
  context,
  doc,
  ecs,
  ecsService,
  elbv2,
  fetchMock,
  firstStep,
  forward,
  getInput,
  handlerOf,
  historyPut,
  installAwsMockHooks,
  listener,
  NOW,
  RECORD_KEY,
  ROUTING_KEY,
  record,
  rolloutDoc,
  route,
  SERVICE_TOPIC,
  STABLE_IMAGE,
  STABLE_TASK_DEF,
  secrets,
  services,
  sfn,
  sns,
  TABLE,
  TASK_TOKEN,
  table,
  timeline,
  updateInput,
} from '../helpers/aws-mocks';
import {
  CANARY_SERVICE,
  CANARY_TG_ARN,
  ECS_CLUSTER,
  IMAGE_DIGEST,
  LISTENER_ARN,
  PAGERDUTY_SECRET_ARN,
  ROLLOUT_ID,
  SERVICE,
  STABLE_SERVICE,
  STABLE_TG_ARN,
} from '../helpers/config';

installAwsMockHooks();

const STICKY = { Enabled: true, DurationSeconds: 300 };
const OFF = { Enabled: false };
const LOCK_KEY = { pk: `SERVICE#${SERVICE}`, sk: 'LOCK' };

function targetHealth(states: string[]): Partial<DescribeTargetHealthCommandOutput> {
  return {
    TargetHealthDescriptions: states.map((s, i) => {
      const State = s as TargetHealthStateEnum;
      return {
        Target: { Id: `10.0.1.${10 + i}`, Port: 8080, AvailabilityZone: 'us-east-1a' },
        HealthCheckPort: '8080',
        TargetHealth: s === 'healthy' ? { State } : { State, Reason: 'Elb.RegistrationInProgress' as const },
      };
    }),
  };
}

function modify(stable: number, canary: number, stickiness: { Enabled: boolean; DurationSeconds?: number }) {
  return { ListenerArn: LISTENER_ARN, DefaultActions: [forward(stable, canary, stickiness)] };
}

/** A status change also keeps the `active` index: set while running, removed once the rollout ended. */
function statusUpdate(names: Record<string, string>, values: Record<string, unknown>, ended: boolean) {
  const sets = Object.keys(names)
    .map((n, i) => `${n} = :v${i}`)
    .join(', ');
  return ended
    ? updateInput(
        `SET ${sets} REMOVE #activePk, #activeSk`,
        { ...names, '#activePk': 'activePk', '#activeSk': 'activeSk' },
        values,
      )
    : updateInput(
        `SET ${sets}, #activePk = :active, #activeSk = :rolloutId`,
        { ...names, '#activePk': 'activePk', '#activeSk': 'activeSk' },
        { ...values, ':active': 'ACTIVE', ':rolloutId': ROLLOUT_ID },
      );
}

// --- check-ready ----------------------------------------------------------------------------------------------

describe('check-ready', () => {
  it.each([
    [['healthy', 'healthy'], true],
    [['healthy', 'initial'], false],
  ])(
    'canary: DescribeServices then DescribeTargetHealth on the canary target group (%j → ready %s)',
    async (states, ready) => {
      table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 0 }) });
      services(20, 1, CANARY_TASK_DEF);
      elbv2.on(DescribeTargetHealthCommand).resolves(targetHealth(states));

      const handler = await handlerOf('check-ready');
      const result = await handler(
        { rollout: rolloutDoc, route, which: 'canary', readiness: { attempts: 2 } },
        context,
      );

      expect(result).toMatchObject({ ready, attempts: 3 });
      expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
        { cluster: ECS_CLUSTER, services: [CANARY_SERVICE] },
      ]);
      expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
        { TargetGroupArn: CANARY_TG_ARN },
      ]);
      // The lock and the record: the rollout still owns the service.
      expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
        getInput(LOCK_KEY.pk, LOCK_KEY.sk),
        getInput(RECORD_KEY.pk, RECORD_KEY.sk),
      ]);
      expect(timeline()).toEqual([
        'doc:GetCommand',
        'doc:GetCommand',
        'ecs:DescribeServicesCommand',
        'elbv2:DescribeTargetHealthCommand',
      ]);
      // Reads only.
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
      expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    },
  );

  it('stable while promoting: ready once the stable service runs the canary’s task definition and its targets are healthy', async () => {
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 100, status: 'promoting' }) });
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        ecsService(STABLE_SERVICE, 20, CANARY_TASK_DEF, STABLE_TG_ARN),
        ecsService(CANARY_SERVICE, 20, CANARY_TASK_DEF, CANARY_TG_ARN),
      ],
      failures: [],
    });
    elbv2.on(DescribeTargetHealthCommand).resolves(targetHealth(['healthy', 'healthy', 'healthy']));

    const handler = await handlerOf('check-ready');
    const result = await handler({ rollout: rolloutDoc, route, which: 'stable' }, context);

    expect(result).toMatchObject({ ready: true, attempts: 1 });
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [STABLE_SERVICE, CANARY_SERVICE] },
    ]);
    expect(elbv2.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: STABLE_TG_ARN },
    ]);
  });
});

// --- bake -----------------------------------------------------------------------------------------------------

describe('bake', () => {
  it('stores the wait token on the record, then reads the record again for an abort', async () => {
    table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 5 }) });

    const handler = await handlerOf('bake');
    const result = await handler(
      { token: TASK_TOKEN, rollout: rolloutDoc, step: firstStep, seconds: 300 },
      context,
    );

    expect(result).toEqual({ waiting: true });
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({
        TableName: TABLE,
        Key: RECORD_KEY,
        ExpressionAttributeValues: expect.objectContaining({
          ':wait': { token: TASK_TOKEN, kind: 'bake', step: 0, seq: 0, since: NOW },
        }),
        // Never over a later wait (core/rollout.ts replacesWait).
        ConditionExpression: expect.stringContaining('#wait.#seq < :seq'),
      }),
    ]);
    expect(doc.commandCalls(GetCommand).map((c) => c.args[0].input)).toEqual([
      getInput(LOCK_KEY.pk, LOCK_KEY.sk),
      getInput(RECORD_KEY.pk, RECORD_KEY.sk),
      getInput(LOCK_KEY.pk, LOCK_KEY.sk),
      getInput(RECORD_KEY.pk, RECORD_KEY.sk),
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:GetCommand',
      'doc:GetCommand',
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });
});

// --- promote --------------------------------------------------------------------------------------------------

describe('promote', () => {
  it('begin: 100% on the canary (verified), then the stable service takes the canary’s task definition', async () => {
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 50 }) });
    services(20, 10, CANARY_TASK_DEF);
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(1, 1, STICKY))
      .resolves(listener(0, 1, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(0, 1, OFF).Listeners });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(STABLE_SERVICE, 20, CANARY_TASK_DEF, STABLE_TG_ARN) });

    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'begin' }, context);

    expect(result).toMatchObject({ readiness: { attempts: 0, ready: false } });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(0, 1, OFF),
    ]);
    expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, services: [CANARY_SERVICE] },
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: STABLE_SERVICE, taskDefinition: CANARY_TASK_DEF },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      statusUpdate(
        { '#f0': 'status', '#f1': 'canaryPercent', '#f2': 'updatedAt' },
        { ':v0': 'promoting', ':v1': 100, ':v2': NOW },
        false,
      ),
      updateInput('SET #f0 = :v0', { '#f0': 'stableUpdated' }, { ':v0': true }),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('promoting', `promoting acme/web:v1.4.2`),
    ]);
    // Traffic first (verified, then an abort read after the write), the record says the stable service is being
    // changed before it is.
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'doc:UpdateCommand',
      'ecs:DescribeServicesCommand',
      'ecs:UpdateServiceCommand',
      'doc:PutCommand',
    ]);
  });

  it('shiftBack: 100% back on the stable target group (verified), then the drain time', async () => {
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 100, status: 'promoting' }) });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(0, 1, OFF))
      .resolves(listener(1, 0, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, OFF).Listeners });

    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'shiftBack' }, context);

    expect(result).toEqual({ seconds: 300 });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(1, 0, OFF),
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      updateInput(
        'SET #f0 = :v0, #f1 = :v1',
        { '#f0': 'canaryPercent', '#f1': 'updatedAt' },
        { ':v0': 0, ':v1': NOW },
      ),
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'doc:UpdateCommand',
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('finish: the canary’s weight read back at 0, then it is scaled to 0, the outcome recorded, the lock released', async () => {
    table({ lock: true, record: record({ route, currentStep: 3, canaryPercent: 0, status: 'promoting' }) });
    elbv2.on(DescribeListenersCommand).resolves(listener(1, 0, OFF));
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });

    const handler = await handlerOf('promote');
    const result = await handler({ rollout: rolloutDoc, route, phase: 'finish' }, context);

    expect(result).toEqual({ promoted: true });
    expect(elbv2.commandCalls(DescribeListenersCommand).map((c) => c.args[0].input)).toEqual([
      { ListenerArns: [LISTENER_ARN] },
    ]);
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    expect(doc.commandCalls(UpdateCommand).map((c) => c.args[0].input)).toEqual([
      statusUpdate(
        { '#f0': 'status', '#f1': 'updatedAt', '#f2': 'outcome' },
        {
          ':v0': 'promoted',
          ':v1': NOW,
          ':v2': { result: 'promoted', reason: 'every step passed', at: NOW },
        },
        true,
      ),
    ]);
    expect(doc.commandCalls(PutCommand).map((c) => c.args[0].input)).toEqual([
      historyPut('promoted', 'acme/web:v1.4.2 promoted'),
    ]);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ TableName: TABLE, Key: LOCK_KEY }),
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'elbv2:DescribeListenersCommand',
      'ecs:UpdateServiceCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
      'doc:GetCommand',
      'doc:DeleteCommand',
    ]);
    expect(sfn.calls()).toHaveLength(0);
  });
});

// --- rollback -------------------------------------------------------------------------------------------------

describe('rollback', () => {
  it('stable first (verified), the canary scaled to 0, the image quarantined, the outcome recorded, the lock deleted', async () => {
    table({
      lock: true,
      record: record({
        route,
        currentStep: 1,
        canaryPercent: 25,
        canaryStartedAt: CANARY_STARTED,
        previousStable: { image: STABLE_IMAGE, revision: STABLE_TASK_DEF },
      }),
    });
    elbv2
      .on(DescribeListenersCommand)
      .resolvesOnce(listener(3, 1, STICKY))
      .resolves(listener(1, 0, OFF));
    elbv2.on(ModifyListenerCommand).resolves({ Listeners: listener(1, 0, OFF).Listeners });
    ecs
      .on(UpdateServiceCommand)
      .resolves({ service: ecsService(CANARY_SERVICE, 0, CANARY_TASK_DEF, CANARY_TG_ARN) });
    const cause = JSON.stringify({
      errorType: 'CanaryFailed',
      errorMessage: 'errorRate: canary 4.6% vs stable 0.1%',
    });

    const handler = await handlerOf('rollback');
    const error = { Error: 'CanaryFailed', Cause: cause };

    // Traffic first: nothing of the store is written but the status (best effort).
    const traffic = await handler({ rollout: rolloutDoc, error, prepared: { route } }, context);

    expect(traffic).toEqual({ restored: true, routed: true, stableRestored: false, canaryScaledDown: true });
    expect(elbv2.commandCalls(ModifyListenerCommand).map((c) => c.args[0].input)).toEqual([
      modify(1, 0, OFF),
    ]);
    expect(ecs.commandCalls(UpdateServiceCommand).map((c) => c.args[0].input)).toEqual([
      { cluster: ECS_CLUSTER, service: CANARY_SERVICE, desiredCount: 0 },
    ]);
    expect(timeline()).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:UpdateCommand',
      'elbv2:DescribeListenersCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:DescribeTargetGroupAttributesCommand',
      'elbv2:ModifyListenerCommand',
      'elbv2:DescribeListenersCommand',
      'ecs:UpdateServiceCommand',
    ]);

    // Then (after the page) the store: quarantine, outcome, history, the lock.
    const recorded = await handler(
      { phase: 'record', rollout: rolloutDoc, error, rollback: traffic },
      context,
    );

    expect(recorded).toMatchObject({ restored: true, errorName: 'CanaryFailed', quarantined: true });
    expect(elbv2.commandCalls(ModifyListenerCommand)).toHaveLength(1);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
    const puts = doc.commandCalls(PutCommand).map((c) => c.args[0].input);
    expect(puts[0]).toMatchObject({
      TableName: TABLE,
      Item: { pk: `SERVICE#${SERVICE}`, sk: `QUARANTINE#${IMAGE_DIGEST}`, digest: IMAGE_DIGEST },
    });
    expect(String((puts[0]?.Item as { reason?: string } | undefined)?.reason)).toContain('CanaryFailed');
    expect(puts[1]).toEqual(
      historyPut('rolledBack', expect.stringMatching(/^acme\/web:v1\.4\.2 rolled back: /), {
        error: 'CanaryFailed',
        reason: expect.any(String),
        quarantined: true,
      }),
    );
    const updates = doc.commandCalls(UpdateCommand).map((c) => c.args[0].input);
    expect(updates[0]).toEqual(
      statusUpdate({ '#f0': 'status', '#f1': 'updatedAt' }, { ':v0': 'rollingBack', ':v1': NOW }, false),
    );
    expect(updates[1]).toEqual(
      statusUpdate(
        { '#f0': 'status', '#f1': 'updatedAt', '#f2': 'canaryPercent', '#f3': 'outcome' },
        {
          ':v0': 'rolledBack',
          ':v1': NOW,
          ':v2': 0,
          ':v3': { result: 'rolledBack', reason: expect.stringMatching(/^CanaryFailed: /), at: NOW },
        },
        true,
      ),
    );
    expect(updates).toHaveLength(2);
    expect(doc.commandCalls(DeleteCommand).map((c) => c.args[0].input)).toEqual([
      expect.objectContaining({ TableName: TABLE, Key: LOCK_KEY }),
    ]);
    expect(timeline().slice(9)).toEqual([
      'doc:GetCommand',
      'doc:GetCommand',
      'doc:PutCommand',
      'doc:UpdateCommand',
      'doc:PutCommand',
      'doc:GetCommand',
      'doc:DeleteCommand',
    ]);
  });
});

// --- notify ---------------------------------------------------------------------------------------------------

describe('notify', () => {
  it('a rollback: SNS Publish with service/event/severity attributes, and a PagerDuty page deduplicated by rollout', async () => {
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    const result = await handler(
      {
        rollout: rolloutDoc,
        outcome: 'rolledBack',
        error: { Error: 'CanaryFailed', Cause: 'errorRate: canary 4.6% vs stable 0.1%' },
      },
      context,
    );

    expect(result).toEqual({
      delivered: expect.arrayContaining([expect.any(String), expect.any(String)]),
      failed: [],
    });
    const published = sns.commandCalls(PublishCommand).map((c) => c.args[0].input);
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({
      TopicArn: SERVICE_TOPIC,
      MessageAttributes: {
        service: { DataType: 'String', StringValue: SERVICE },
        event: { DataType: 'String', StringValue: 'rollout.rolledBack' },
        severity: { DataType: 'String', StringValue: 'error' },
      },
    });
    expect(secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input)).toEqual([
      { SecretId: PAGERDUTY_SECRET_ARN },
    ]);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    const [url, init] = fetchMock.mock.calls[0] as [string, RequestInit];
    expect(String(url)).toBe('https://events.pagerduty.com/v2/enqueue');
    expect(init.method).toBe('POST');
    const body = JSON.parse(String(init.body));
    expect(body).toMatchObject({
      routing_key: ROUTING_KEY,
      event_action: 'trigger',
      dedup_key: ROLLOUT_ID,
      payload: { severity: 'error' },
    });
    // The routing key goes to PagerDuty only.
    expect(JSON.stringify(published)).not.toContain(ROUTING_KEY);
  });

  it('a promotion informs on SNS and does not page', async () => {
    doc.on(GetCommand).resolves({});
    const handler = await handlerOf('notify');
    await handler({ rollout: rolloutDoc, outcome: 'promoted' }, context);
    expect(sns.commandCalls(PublishCommand).map((c) => c.args[0].input.MessageAttributes)).toEqual([
      expect.objectContaining({
        event: { DataType: 'String', StringValue: 'rollout.promoted' },
        severity: { DataType: 'String', StringValue: 'info' },
      }),
    ]);
    expect(fetchMock).not.toHaveBeenCalled();
  });
});
