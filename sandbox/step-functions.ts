/**
 * Step Functions on this machine (LocalStepFunctions): executions of the real definition (sandbox/definition.ts)
 * on aws-local-stepfunctions, each Task invoking the real handler as Lambda would (sandbox/invocation.ts).
 */
import { EventEmitter } from 'node:events';
import type { Context } from 'aws-lambda';
import type { StateMachine } from 'aws-local-stepfunctions';
import { isStaleToken } from '../functions/adapters/aws/sfn';
import type { RolloutDoc } from '../functions/core/rollout';
import type { Executions, StartedExecution } from '../functions/ports';
import { loadDefinition, STATE_MACHINE_ARN, taskStates, validatedMachine } from './definition';
import { apiError, lambdaContext, lambdaError, statusChangeEvent } from './invocation';

export {
  definitionTimeoutSeconds,
  loadDefinition,
  STATE_MACHINE_ARN,
  substitutedDefinition,
  taskStates,
} from './definition';

type Handler = (event: unknown, context: Context) => Promise<unknown>;

export interface ExecutionRecord {
  name: string;
  executionArn: string;
  input: string;
  status: 'RUNNING' | 'SUCCEEDED' | 'FAILED' | 'TIMED_OUT' | 'ABORTED';
  error?: string;
  cause?: string;
  output?: unknown;
  startedAt: number;
  /** Wall-clock start (Date.now()), as ListExecutions' startDate. */
  startedWallMs: number;
  stoppedAt?: number;
  /** The state entered last and its input, from the engine's event log (GetExecutionHistory's StateEntered). */
  lastEntered?: { name: string; input: string };
  done: Promise<ExecutionRecord>;
  abort: () => void;
}

interface PendingToken {
  execution: string;
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  /** The wait is over (resolved, its state timed out, its execution ended): the token is refused. */
  closed: boolean;
  timer: NodeJS.Timeout;
}

/**
 * Step Functions on this machine: runs the real definition with aws-local-stepfunctions, each Task calling the
 * real task handler as Lambda would (JSON in, JSON out, errors by name). `.waitForTaskToken` tasks get a fresh
 * token per wait (the engine's `$$.Task.Token` is static), resolved by sendTaskSuccess / sendTaskFailure and
 * refused, as AWS does, once the wait is over. An execution that runs past the definition's TimeoutSeconds (as
 * compressed by the sandbox) ends TIMED_OUT. Execution status changes go to `onStatusChange` as the EventBridge
 * events AWS sends.
 */
export class LocalStepFunctions extends EventEmitter implements Executions {
  private readonly machine: StateMachine;
  private readonly executions = new Map<string, ExecutionRecord>();
  private readonly tokens = new Map<string, PendingToken>();
  private readonly tasks: { state: string; fn: string; waits: boolean; handler: Handler }[] = [];
  private readonly retryOverrides: Record<string, number> = {};

  constructor(
    handlers: Record<string, Handler>,
    private readonly options: {
      /** Real ms between retries (the definition's backoff compressed). */
      retryIntervalMs: number;
      /** Real seconds an execution may run (the definition's TimeoutSeconds compressed); default: as defined. */
      executionTimeoutSeconds?: number;
      onStatusChange?: (event: unknown) => Promise<unknown>;
      /** Wraps each task invocation (fault injection in tests). */
      invoke?: (fn: string, event: unknown, call: () => Promise<unknown>) => Promise<unknown>;
    },
  ) {
    super();
    this.machine = validatedMachine(options.executionTimeoutSeconds);
    for (const { state, fn, waits } of taskStates(loadDefinition())) {
      const handler = handlers[fn];
      if (!handler) throw new Error(`no local handler for ${fn} (state ${state})`);
      this.retryOverrides[state] = options.retryIntervalMs;
      this.tasks.push({ state, fn, waits, handler });
    }
  }

  /** The engine's task handlers for one execution (its waits' tokens belong to it). */
  private handlersFor(execution: string): Record<string, (input: unknown) => Promise<unknown>> {
    return Object.fromEntries(
      this.tasks.map(({ state, fn, waits, handler }) => [
        state,
        waits
          ? (input: unknown) => this.startWait(execution, fn, handler, input)
          : (input: unknown) => this.call(fn, handler, input),
      ]),
    );
  }

  private async call(fn: string, handler: Handler, input: unknown): Promise<unknown> {
    const event = JSON.parse(JSON.stringify(input ?? null));
    const run = () => handler(event, lambdaContext(fn));
    try {
      const result = await (this.options.invoke ? this.options.invoke(fn, event, run) : run());
      this.emit('task', fn, event, result);
      return JSON.parse(JSON.stringify(result ?? null));
    } catch (error) {
      this.emit('taskError', fn, event, error);
      throw lambdaError(error);
    }
  }

  private startWait(execution: string, fn: string, handler: Handler, input: unknown): Promise<unknown> {
    const params = input as { Payload: Record<string, unknown> };
    const token = `local-token-${crypto.randomUUID()}`;
    const seconds = Number(params.Payload.seconds ?? 60);
    const waiting = new Promise((resolve, reject) => {
      // The engine times the state out after `seconds` (TimeoutSecondsPath); this timer is set first, so the
      // token is closed before the engine moves on, and a late SendTaskSuccess is refused (TaskTimedOut).
      const timer = setTimeout(() => this.close(token), seconds * 1000);
      this.tokens.set(token, { execution, resolve, reject, closed: false, timer });
    });
    waiting.catch(() => undefined);
    return this.call(fn, handler, { ...params.Payload, token }).then(
      () => waiting,
      (error: unknown) => {
        this.close(token);
        throw error;
      },
    );
  }

  private close(token: string): void {
    const pending = this.tokens.get(token);
    if (!pending) return;
    pending.closed = true;
    clearTimeout(pending.timer);
  }

  /** The pending wait of a token, or the error SendTaskSuccess/SendTaskFailure returns for it. */
  private openWait(token: string): PendingToken {
    const pending = this.tokens.get(token);
    // Step Functions API reference, SendTaskSuccess / SendTaskFailure errors.
    if (!pending) throw apiError('InvalidToken', 'Invalid Token');
    if (pending.closed) throw apiError('TaskTimedOut', 'Task Timed Out');
    return pending;
  }

  /** SendTaskSuccess as the API behaves: throws TaskTimedOut once the wait is over, InvalidToken for no wait. */
  async taskSuccess(token: string, output: unknown): Promise<void> {
    const pending = this.openWait(token);
    this.close(token);
    pending.resolve(JSON.parse(JSON.stringify(output ?? {})));
  }

  /** SendTaskFailure as the API behaves (see taskSuccess). */
  async taskFailure(token: string, error: string, cause: string): Promise<void> {
    const pending = this.openWait(token);
    this.close(token);
    pending.reject(apiError(error, cause));
  }

  /** The Executions port: a wait that is over is false, mapped as the AWS adapter maps it. */
  async sendTaskSuccess(token: string, output: unknown): Promise<boolean> {
    return this.taskSuccess(token, output).then(() => true, refusedAsFalse);
  }

  async sendTaskFailure(token: string, error: string, cause: string): Promise<boolean> {
    return this.taskFailure(token, error, cause).then(() => true, refusedAsFalse);
  }

  async start(name: string, input: { rollout: RolloutDoc }): Promise<StartedExecution> {
    const inputJson = JSON.stringify(input);
    const existing = this.executions.get(name);
    if (existing) {
      if (existing.input === inputJson) return { executionArn: existing.executionArn, alreadyStarted: true };
      const e = new Error(`Execution Already Exists: '${existing.executionArn}'`);
      e.name = 'ExecutionAlreadyExists';
      throw e;
    }
    const executionArn = `${STATE_MACHINE_ARN.replace(':stateMachine:', ':execution:')}:${name}`;
    const run = this.machine.run(JSON.parse(inputJson), {
      overrides: {
        taskResourceLocalHandlers: this.handlersFor(name) as never,
        retryIntervalOverrides: this.retryOverrides,
      },
      // The engine's $$.Task.Token is this static value; each wait mints its own token (startWait).
      context: {
        Execution: {
          Id: executionArn,
          Name: name,
          Input: JSON.parse(inputJson),
          StartTime: new Date().toISOString(),
        },
        Task: { Token: 'static-token-replaced-per-wait' },
      },
    });
    const record: ExecutionRecord = {
      name,
      executionArn,
      input: inputJson,
      status: 'RUNNING',
      startedAt: performance.now(),
      startedWallMs: Date.now(),
      abort: () => run.abort(),
      done: undefined as unknown as Promise<ExecutionRecord>,
    };
    void (async () => {
      for await (const event of run.eventLogs) {
        if (event.type !== 'StateEntered') continue;
        // Every state entered (nested ones too) is a state transition, as Step Functions counts them.
        this.emit('transition', name, event.state.name);
        if (event.index === undefined)
          record.lastEntered = { name: event.state.name, input: JSON.stringify(event.state.input) };
      }
    })().catch(() => undefined);
    record.done = run.result
      .then(
        (output) => Object.assign(record, { status: 'SUCCEEDED' as const, output }),
        (error: Error & { cause?: Error }) => {
          if (error.name === 'ExecutionAbortedError')
            return Object.assign(record, { status: 'ABORTED' as const });
          // The execution ran past TimeoutSeconds: TIMED_OUT, with no error of a state (States.Timeout is a
          // state's own timeout; the execution's has a status of its own).
          if (error.name === 'ExecutionTimeoutError')
            return Object.assign(record, { status: 'TIMED_OUT' as const });
          const caught = error.cause ?? error;
          return Object.assign(record, {
            status: 'FAILED' as const,
            error: caught.name,
            cause: caught.message,
          });
        },
      )
      .then(async (r) => {
        r.stoppedAt = performance.now();
        // Its waits end with it: a token of a stopped, timed-out or finished execution is refused.
        for (const [token, pending] of this.tokens) if (pending.execution === name) this.close(token);
        this.emit('execution', r);
        await this.options.onStatusChange?.(statusChangeEvent(r)).catch((e) => this.emit('error', e));
        return r;
      });
    this.executions.set(name, record);
    this.emit('started', record);
    return { executionArn, alreadyStarted: false };
  }

  async stop(name: string): Promise<void> {
    this.executions.get(name)?.abort();
  }

  async isRunning(name: string): Promise<boolean> {
    return this.executions.get(name)?.status === 'RUNNING';
  }

  /** ListExecutions (RUNNING) with each one's input, newest first, as the AWS adapter returns them. */
  async running(): Promise<{ name: string; input: string; startedAt: string }[]> {
    return this.list()
      .filter((e) => e.status === 'RUNNING')
      .sort((a, b) => b.startedAt - a.startedAt)
      .map((e) => ({ name: e.name, input: e.input, startedAt: new Date(e.startedWallMs).toISOString() }));
  }

  /** GetExecutionHistory newest first, to its first StateEntered event (the top level's states only). */
  async lastStateEntered(name: string): Promise<{ name: string; input: string } | undefined> {
    const entered = this.executions.get(name)?.lastEntered;
    return entered ? { ...entered } : undefined;
  }

  get(name: string): ExecutionRecord | undefined {
    return this.executions.get(name);
  }

  list(): ExecutionRecord[] {
    return [...this.executions.values()];
  }

  /** Settle once every execution started so far (and any they started) has ended. */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.list().filter((e) => e.status === 'RUNNING');
      if (running.length === 0) return;
      await Promise.all(running.map((e) => e.done));
    }
  }
}

function refusedAsFalse(error: unknown): false {
  if (isStaleToken(error)) return false;
  throw error;
}
