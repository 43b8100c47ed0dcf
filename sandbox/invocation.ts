/**
 * What a Lambda invocation looks like from Step Functions: the context each handler gets, the error a failed
 * invocation turns into, and the EventBridge event an execution's status change sends.
 */
import type { Context } from 'aws-lambda';
import { ACCOUNT, REGION, STATE_MACHINE_ARN } from './definition';
import type { ExecutionRecord } from './step-functions';

/** An error as the Step Functions API returns it (the SDK's exception name). */
export function apiError(name: string, message: string): Error {
  const e = new Error(message);
  e.name = name;
  return e;
}

export function lambdaContext(fn: string): Context {
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName: `canary-${fn}`,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${REGION}:${ACCOUNT}:function:canary-${fn}`,
    memoryLimitInMB: '256',
    awsRequestId: crypto.randomUUID(),
    logGroupName: `/aws/lambda/canary-${fn}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

/** An error as Step Functions sees a Lambda's: `Error` is the errorType, `Cause` the JSON error payload. */
export function lambdaError(error: unknown): Error {
  const e = error instanceof Error ? error : new Error(String(error));
  const out = new Error(JSON.stringify({ errorType: e.name, errorMessage: e.message, trace: [] }));
  out.name = e.name;
  return out;
}

export function statusChangeEvent(r: ExecutionRecord) {
  return {
    version: '0',
    id: crypto.randomUUID(),
    'detail-type': 'Step Functions Execution Status Change',
    source: 'aws.states',
    account: ACCOUNT,
    time: new Date().toISOString(),
    region: REGION,
    resources: [r.executionArn],
    detail: {
      executionArn: r.executionArn,
      stateMachineArn: STATE_MACHINE_ARN,
      name: r.name,
      status: r.status,
      startDate: Math.round(r.startedAt),
      stopDate: Math.round(r.stoppedAt ?? performance.now()),
      input: r.input,
      output: r.output === undefined ? null : JSON.stringify(r.output),
      error: r.error ?? null,
      cause: r.cause ?? null,
    },
  };
}
