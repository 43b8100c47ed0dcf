import {
  DescribeExecutionCommand,
  ExecutionAlreadyExists,
  ExecutionDoesNotExist,
  GetExecutionHistoryCommand,
  InvalidToken,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
  TaskDoesNotExist,
  TaskTimedOut,
} from '@aws-sdk/client-sfn';
import { beforeEach, describe, expect, it } from 'vitest';
import { executionArnFor, StepFunctionsExecutions } from '../../functions/adapters/aws/sfn';
import { stepSpecs } from '../../functions/core/config';
import { TransientError } from '../../functions/core/errors';
import { buildPlan } from '../../functions/core/plan';
import type { RolloutDoc } from '../../functions/core/rollout';
import { mockClient } from '../contract/mock';
import { awsError, DIGEST, fastRetry, serviceConfig, throttling } from './helpers';

const client = new SFNClient({ region: 'us-east-1' });
const sfn = mockClient(client);
const MACHINE = 'arn:aws:states:us-east-1:123456789012:stateMachine:canary-controller';
const NAME = 'web-ab12ab12ab12ab12';
const EXECUTION = `arn:aws:states:us-east-1:123456789012:execution:canary-controller:${NAME}`;
const TOKEN = 'AQCEAAAAKgAAAAMAAAAAAAAAAb2Zm0SGtu/secret-task-token';

const config = serviceConfig();
const doc: RolloutDoc = {
  rolloutId: NAME,
  service: 'web',
  image: { repository: 'team/web', digest: DIGEST, tag: 'v1.5.0' },
  config,
  plan: buildPlan(stepSpecs(config)),
  trigger: 'ecr-push',
  requestedAt: '2025-03-04T12:00:00.000Z',
};

describe('StepFunctionsExecutions', () => {
  let executions: StepFunctionsExecutions;

  beforeEach(() => {
    sfn.reset();
    executions = new StepFunctionsExecutions(client, MACHINE, { retry: fastRetry().retry });
  });

  it('running: ListExecutions (RUNNING, every page), then the input of each, newest first; one that ended meanwhile is left out', async () => {
    const arn = (name: string) => `${MACHINE.replace(':stateMachine:', ':execution:')}:${name}`;
    const item = (name: string, start: string) => ({
      executionArn: arn(name),
      stateMachineArn: MACHINE,
      name,
      status: 'RUNNING' as const,
      startDate: new Date(start),
    });
    sfn
      .on(ListExecutionsCommand)
      .resolvesOnce({ executions: [item('web-new', '2025-03-04T12:05:00Z')], nextToken: 'page-2' })
      .resolvesOnce({
        executions: [item('api-old', '2025-03-04T11:00:00Z'), item('gone', '2025-03-04T11:30:00Z')],
      });
    sfn.on(DescribeExecutionCommand).callsFake((input: { executionArn: string }) => {
      if (input.executionArn === arn('gone'))
        throw new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} });
      return {
        executionArn: input.executionArn,
        stateMachineArn: MACHINE,
        status: 'RUNNING',
        startDate: new Date(),
        input: JSON.stringify({ rollout: doc }),
      };
    });

    const running = await executions.running();

    expect(running.map((e) => [e.name, e.startedAt])).toEqual([
      ['web-new', '2025-03-04T12:05:00.000Z'],
      ['api-old', '2025-03-04T11:00:00.000Z'],
    ]);
    expect(running[0]?.input).toBe(JSON.stringify({ rollout: doc }));
    expect(sfn.commandCalls(ListExecutionsCommand).map((c) => c.args[0].input)).toEqual([
      { stateMachineArn: MACHINE, statusFilter: 'RUNNING', maxResults: 100 },
      { stateMachineArn: MACHINE, statusFilter: 'RUNNING', maxResults: 100, nextToken: 'page-2' },
    ]);
  });

  it('running: throttling that outlasts the retries surfaces as Transient', async () => {
    sfn.on(ListExecutionsCommand).rejects(throttling());
    await expect(executions.running()).rejects.toBeInstanceOf(TransientError);
  });

  it('lastStateEntered: GetExecutionHistory newest first, across pages, to the first state entered; none for no execution', async () => {
    const at = new Date('2025-03-04T12:00:00Z');
    sfn
      .on(GetExecutionHistoryCommand)
      .resolvesOnce({
        events: [
          { id: 40, timestamp: at, type: 'ExecutionAborted', executionAbortedEventDetails: {} },
          {
            id: 39,
            timestamp: at,
            type: 'TaskStarted',
            taskStartedEventDetails: { resourceType: 'lambda', resource: 'invoke' },
          },
        ],
        nextToken: 'older',
      })
      .resolvesOnce({
        events: [
          { id: 38, timestamp: at, type: 'TaskScheduled' } as never,
          {
            id: 37,
            timestamp: at,
            type: 'TaskStateEntered',
            stateEnteredEventDetails: { name: 'PromoteFinish', input: '{"prepared":{}}' },
          },
          {
            id: 36,
            timestamp: at,
            type: 'WaitStateExited',
            stateExitedEventDetails: { name: 'WaitForDrain' },
          },
        ],
        nextToken: 'more',
      });

    expect(await executions.lastStateEntered('web-1')).toEqual({
      name: 'PromoteFinish',
      input: '{"prepared":{}}',
    });
    expect(sfn.commandCalls(GetExecutionHistoryCommand).map((c) => c.args[0].input)).toEqual([
      { executionArn: executionArnFor(MACHINE, 'web-1'), reverseOrder: true, maxResults: 100 },
      {
        executionArn: executionArnFor(MACHINE, 'web-1'),
        reverseOrder: true,
        maxResults: 100,
        nextToken: 'older',
      },
    ]);

    sfn.reset();
    sfn
      .on(GetExecutionHistoryCommand)
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));
    expect(await executions.lastStateEntered('gone')).toBeUndefined();
  });

  it('derives the execution ARN from the state machine ARN', () => {
    expect(executionArnFor(MACHINE, NAME)).toBe(EXECUTION);
  });

  it('start: StartExecution with the name and the JSON input', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: EXECUTION, startDate: new Date() });

    expect(await executions.start(NAME, { rollout: doc })).toEqual({
      executionArn: EXECUTION,
      alreadyStarted: false,
    });
    expect(sfn.commandCalls(StartExecutionCommand)[0]?.args[0].input).toEqual({
      stateMachineArn: MACHINE,
      name: NAME,
      input: JSON.stringify({ rollout: doc }),
    });
  });

  it('start: an existing execution with the same input (keys in any order) is a no-op', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(
        new ExecutionAlreadyExists({ message: `Execution Already Exists: '${EXECUTION}'`, $metadata: {} }),
      );
    const { service, rolloutId, ...rest } = doc;
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      stateMachineArn: MACHINE,
      status: 'SUCCEEDED',
      startDate: new Date(),
      input: JSON.stringify({ rollout: { ...rest, service, rolloutId } }),
    });

    expect(await executions.start(NAME, { rollout: doc })).toEqual({
      executionArn: EXECUTION,
      alreadyStarted: true,
    });
    expect(sfn.commandCalls(DescribeExecutionCommand)[0]?.args[0].input).toEqual({ executionArn: EXECUTION });
  });

  it('start: an existing execution with another input is an error', async () => {
    sfn
      .on(StartExecutionCommand)
      .rejects(new ExecutionAlreadyExists({ message: 'Execution Already Exists', $metadata: {} }));
    sfn.on(DescribeExecutionCommand).resolves({
      executionArn: EXECUTION,
      stateMachineArn: MACHINE,
      status: 'FAILED',
      startDate: new Date(),
      input: JSON.stringify({ rollout: { ...doc, requestedAt: '2025-01-01T00:00:00.000Z' } }),
    });

    await expect(executions.start(NAME, { rollout: doc })).rejects.toThrow(
      /already exists with a different input/,
    );
  });

  it('start: throttling is retried, then Transient', async () => {
    sfn.on(StartExecutionCommand).rejects(throttling());

    await expect(executions.start(NAME, { rollout: doc })).rejects.toBeInstanceOf(TransientError);
    expect(sfn.commandCalls(StartExecutionCommand)).toHaveLength(3);
  });

  it('stop: StopExecution with error and cause cut to the limits', async () => {
    sfn.on(StopExecutionCommand).resolves({ stopDate: new Date() });

    await executions.stop(NAME, 'E'.repeat(300), 'c'.repeat(40000));

    const input = sfn.commandCalls(StopExecutionCommand)[0]?.args[0].input;
    expect(input?.executionArn).toBe(EXECUTION);
    expect(input?.error).toHaveLength(256);
    expect(input?.cause).toHaveLength(32768);
  });

  it('isRunning: RUNNING is true, anything else or no execution is false', async () => {
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({
        executionArn: EXECUTION,
        stateMachineArn: MACHINE,
        status: 'RUNNING',
        startDate: new Date(),
      })
      .resolvesOnce({
        executionArn: EXECUTION,
        stateMachineArn: MACHINE,
        status: 'ABORTED',
        startDate: new Date(),
      })
      .rejects(new ExecutionDoesNotExist({ message: 'Execution Does Not Exist', $metadata: {} }));

    expect(await executions.isRunning(NAME)).toBe(true);
    expect(await executions.isRunning(NAME)).toBe(false);
    expect(await executions.isRunning(NAME)).toBe(false);
    expect(sfn.commandCalls(DescribeExecutionCommand).map((c) => c.args[0].input)).toEqual(
      Array.from({ length: 3 }, () => ({ executionArn: EXECUTION })),
    );
  });

  it('sendTaskSuccess: SendTaskSuccess with the JSON output', async () => {
    sfn.on(SendTaskSuccessCommand).resolves({});

    expect(await executions.sendTaskSuccess(TOKEN, { approved: true, by: 'alice' })).toBe(true);
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toEqual({
      taskToken: TOKEN,
      output: '{"approved":true,"by":"alice"}',
    });
  });

  it('sendTaskFailure: error and cause cut to the limits', async () => {
    sfn.on(SendTaskFailureCommand).resolves({});

    expect(await executions.sendTaskFailure(TOKEN, 'AlarmFired', 'x'.repeat(33000))).toBe(true);
    const input = sfn.commandCalls(SendTaskFailureCommand)[0]?.args[0].input;
    expect(input?.error).toBe('AlarmFired');
    expect(input?.cause).toHaveLength(32768);
  });

  it.each([
    ['TaskTimedOut', () => new TaskTimedOut({ message: 'Task Timed Out', $metadata: {} })],
    ['InvalidToken', () => new InvalidToken({ message: 'Invalid Token', $metadata: {} })],
    ['TaskDoesNotExist', () => new TaskDoesNotExist({ message: 'Task Does Not Exist', $metadata: {} })],
  ])('a stale token (%s) is false, not an error', async (_name, error) => {
    sfn.on(SendTaskFailureCommand).rejects(error());
    sfn.on(SendTaskSuccessCommand).rejects(error());

    expect(await executions.sendTaskFailure(TOKEN, 'Aborted', 'by operator')).toBe(false);
    expect(await executions.sendTaskSuccess(TOKEN, {})).toBe(false);
  });

  it('hides a token the service quotes back in an error message', async () => {
    sfn
      .on(SendTaskFailureCommand)
      .rejects(awsError('ValidationException', 400, `Invalid task token '${TOKEN}'`));

    const error = await executions.sendTaskFailure(TOKEN, 'Aborted', 'by operator').catch((e: unknown) => e);

    expect((error as Error).message).toBe("Invalid task token '[task token]'");
    expect((error as Error).stack).not.toContain(TOKEN);
  });

  it('never names the task token in an error, nor in its cause', async () => {
    sfn
      .on(SendTaskSuccessCommand)
      .rejects(awsError('ThrottlingException', 400, `Rate exceeded for ${TOKEN}`));

    const error = await executions.sendTaskSuccess(TOKEN, {}).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).not.toContain(TOKEN);
    expect(String((error as Error).cause)).not.toContain(TOKEN);
  });
});
