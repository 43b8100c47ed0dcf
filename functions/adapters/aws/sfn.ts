/**
 * Executions over one Step Functions state machine: start (idempotent by name and input), stop, ask whether one
 * runs, and resolve the wait a task token stands for. Task tokens are secrets: never named in an error.
 */
import {
  DescribeExecutionCommand,
  GetExecutionHistoryCommand,
  ListExecutionsCommand,
  SendTaskFailureCommand,
  SendTaskSuccessCommand,
  type SFNClient,
  StartExecutionCommand,
  StopExecutionCommand,
} from '@aws-sdk/client-sfn';
import type { RolloutDoc } from '../../core/rollout';
import type { EnteredState, Executions, RunningExecution, StartedExecution, TaskTokens } from '../../ports';
import { canonicalJson } from './canonical-json';
import { type AdapterOptions, AwsCaller, errorName } from './sdk';

/** Step Functions limits: error names up to 256 characters, causes up to 32,768. */
const MAX_ERROR_LENGTH = 256;
const MAX_CAUSE_LENGTH = 32768;

/**
 * Errors meaning the wait behind a token is over (Step Functions API reference, SendTaskSuccess and
 * SendTaskFailure): TaskTimedOut "the task token has either expired or the task associated with the token has
 * already been closed" (its state timed out, was resolved, or its execution stopped or timed out), InvalidToken,
 * TaskDoesNotExist.
 */
const STALE_TOKEN = new Set(['TaskTimedOut', 'InvalidToken', 'TaskDoesNotExist']);

/** Whether SendTaskSuccess/SendTaskFailure failed because the wait is over (the port reports it as false). */
export function isStaleToken(error: unknown): boolean {
  return STALE_TOKEN.has(errorName(error));
}

/** `arn:aws:states:r:a:execution:<machine>:<name>` for `arn:aws:states:r:a:stateMachine:<machine>`. */
export function executionArnFor(stateMachineArn: string, name: string): string {
  if (!stateMachineArn.includes(':stateMachine:'))
    throw new RangeError(`not a state machine ARN: ${stateMachineArn}`);
  return `${stateMachineArn.replace(':stateMachine:', ':execution:')}:${name}`;
}

function sameJson(a: string | undefined, b: string): boolean {
  if (a === undefined) return false;
  try {
    return canonicalJson(JSON.parse(a)) === canonicalJson(JSON.parse(b));
  } catch {
    return false;
  }
}

/**
 * Ending a `.waitForTaskToken` wait (SendTaskSuccess, SendTaskFailure): all the approval page needs of Step
 * Functions, apart from the executions (StepFunctionsExecutions), so its bundle leaves those out.
 */
export class StepFunctionsTasks implements TaskTokens {
  protected readonly aws: AwsCaller;

  constructor(
    protected readonly sfn: SFNClient,
    protected readonly stateMachineArn: string,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async sendTaskSuccess(token: string, output: unknown): Promise<boolean> {
    return this.resolve('states:SendTaskSuccess', token, () =>
      this.sfn.send(new SendTaskSuccessCommand({ taskToken: token, output: JSON.stringify(output ?? {}) })),
    );
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    return this.resolve('states:SendTaskFailure', token, () =>
      this.sfn.send(
        new SendTaskFailureCommand({
          taskToken: token,
          error: error.slice(0, MAX_ERROR_LENGTH),
          cause: cause.slice(0, MAX_CAUSE_LENGTH),
        }),
      ),
    );
  }

  private async resolve(action: string, token: string, send: () => Promise<unknown>): Promise<boolean> {
    try {
      await this.aws.call(action, `a task of ${this.stateMachineArn}`, send);
      return true;
    } catch (error) {
      if (isStaleToken(error)) return false;
      throw redacted(error, token);
    }
  }
}

export class StepFunctionsExecutions extends StepFunctionsTasks implements Executions {
  async start(name: string, input: { rollout: RolloutDoc }): Promise<StartedExecution> {
    const json = JSON.stringify(input);
    try {
      const out = await this.aws.call(
        'states:StartExecution',
        this.stateMachineArn,
        () =>
          this.sfn.send(
            new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: json }),
          ),
        { notFound: { StateMachineDoesNotExist: `state machine ${this.stateMachineArn} does not exist` } },
      );
      if (!out.executionArn) throw new Error('states:StartExecution returned no execution ARN');
      return { executionArn: out.executionArn, alreadyStarted: false };
    } catch (error) {
      if (errorName(error) !== 'ExecutionAlreadyExists') throw error;
      const executionArn = executionArnFor(this.stateMachineArn, name);
      const existing = await this.aws.call('states:DescribeExecution', executionArn, () =>
        this.sfn.send(new DescribeExecutionCommand({ executionArn })),
      );
      if (sameJson(existing.input, json)) return { executionArn, alreadyStarted: true };
      throw new Error(
        `execution ${executionArn} already exists with a different input (status ${existing.status ?? 'unknown'})`,
        {
          cause: error,
        },
      );
    }
  }

  async stop(executionName: string, error: string, cause: string): Promise<void> {
    const executionArn = executionArnFor(this.stateMachineArn, executionName);
    try {
      await this.aws.call('states:StopExecution', executionArn, () =>
        this.sfn.send(
          new StopExecutionCommand({
            executionArn,
            error: error.slice(0, MAX_ERROR_LENGTH),
            cause: cause.slice(0, MAX_CAUSE_LENGTH),
          }),
        ),
      );
    } catch (e) {
      if (errorName(e) !== 'ExecutionDoesNotExist') throw e; // nothing to stop
    }
  }

  async isRunning(executionName: string): Promise<boolean> {
    const executionArn = executionArnFor(this.stateMachineArn, executionName);
    try {
      const out = await this.aws.call('states:DescribeExecution', executionArn, () =>
        this.sfn.send(new DescribeExecutionCommand({ executionArn })),
      );
      return out.status === 'RUNNING';
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return false;
      throw error;
    }
  }

  /**
   * ListExecutions (statusFilter RUNNING; newest first, paginated by nextToken, eventually consistent), then
   * DescribeExecution for each one's input (Step Functions API reference, ListExecutions and DescribeExecution).
   * An execution that ended between the two calls is left out.
   */
  async running(): Promise<RunningExecution[]> {
    const listed: { executionArn: string; name: string; startedAt: string }[] = [];
    let nextToken: string | undefined;
    do {
      const page = await this.aws.call('states:ListExecutions', this.stateMachineArn, () =>
        this.sfn.send(
          new ListExecutionsCommand({
            stateMachineArn: this.stateMachineArn,
            statusFilter: 'RUNNING',
            maxResults: 100,
            ...(nextToken ? { nextToken } : {}),
          }),
        ),
      );
      for (const e of page.executions ?? []) {
        if (e.executionArn && e.name)
          listed.push({
            executionArn: e.executionArn,
            name: e.name,
            startedAt: (e.startDate ?? new Date(0)).toISOString(),
          });
      }
      nextToken = page.nextToken;
    } while (nextToken);
    const described = await Promise.all(
      listed.map(async (e) => {
        try {
          const out = await this.aws.call('states:DescribeExecution', e.executionArn, () =>
            this.sfn.send(new DescribeExecutionCommand({ executionArn: e.executionArn })),
          );
          return out.status === 'RUNNING' && out.input !== undefined
            ? [{ name: e.name, input: out.input, startedAt: e.startedAt }]
            : [];
        } catch (error) {
          if (errorName(error) === 'ExecutionDoesNotExist') return [];
          throw error;
        }
      }),
    );
    return described.flat().sort((a, b) => b.startedAt.localeCompare(a.startedAt));
  }

  /**
   * GetExecutionHistory newest first (reverseOrder; includeExecutionData defaults to true), up to the first
   * `*StateEntered` event: its stateEnteredEventDetails name the state and carry its input. A task retried many
   * times leaves a few events per attempt after it, hence pages of 100 (the API's default; at most 1,000).
   */
  async lastStateEntered(executionName: string): Promise<EnteredState | undefined> {
    const executionArn = executionArnFor(this.stateMachineArn, executionName);
    let nextToken: string | undefined;
    try {
      for (let page = 0; page < 10; page++) {
        const out = await this.aws.call('states:GetExecutionHistory', executionArn, () =>
          this.sfn.send(
            new GetExecutionHistoryCommand({
              executionArn,
              reverseOrder: true,
              maxResults: 100,
              ...(nextToken ? { nextToken } : {}),
            }),
          ),
        );
        for (const e of out.events ?? []) {
          const entered = e.stateEnteredEventDetails;
          if (entered?.name)
            return { name: entered.name, ...(entered.input !== undefined ? { input: entered.input } : {}) };
        }
        nextToken = out.nextToken;
        if (!nextToken) return undefined;
      }
      return undefined;
    } catch (error) {
      if (errorName(error) === 'ExecutionDoesNotExist') return undefined;
      throw error;
    }
  }
}

/**
 * The error with any copy of the token (an SDK message may quote it) replaced, in its message, its stack and its
 * causes (loggers print causes).
 */
function redacted(error: unknown, token: string): unknown {
  const hide = (text: string) => text.split(token).join('[task token]');
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    e.message = hide(e.message);
    if (e.stack) e.stack = hide(e.stack);
  }
  return error;
}
