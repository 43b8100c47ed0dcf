import { GetCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import {
  context,
  doc,
  firstStep,
  getInput,
  handlerOf,
  installAwsMockHooks,
  LOCK_KEY,
  NOW,
  RECORD_KEY,
  record,
  rolloutDoc,
  route,
  sfn,
  TABLE,
  TASK_TOKEN,
  table,
  timeline,
} from '../helpers/aws-mocks';

installAwsMockHooks();

describe('bake', () => {
  it('stores the wait token on the record, then reads the record again for an abort', async () => {
    // Prepare
    table({ lock: true, record: record({ route, currentStep: 0, canaryPercent: 5 }) });

    // Act
    const handler = await handlerOf('bake');
    const result = await handler(
      { token: TASK_TOKEN, rollout: rolloutDoc, step: firstStep, seconds: 300 },
      context,
    );

    // Assess
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
