import {
  EC2ThrottledException,
  ENILimitReachedException,
  InvokeCommand,
  LambdaClient,
  ResourceNotFoundException,
  ServiceException,
  TooManyRequestsException,
} from '@aws-sdk/client-lambda';
import { beforeEach, describe, expect, it } from 'vitest';
import { AwsHookCaller } from '../../functions/adapters/aws/hooks';
import type { HookRequest } from '../../functions/core/hooks';
import { mockClient } from '../contract/mock';

const client = new LambdaClient({ region: 'us-east-1' });
const lambda = mockClient(client);
const FN = 'arn:aws:lambda:us-east-1:123456789012:function:web-smoke';
const request: HookRequest = {
  kind: 'canary-hook',
  version: 1,
  service: 'web',
  rolloutId: 'web-ab12ab12ab12ab12',
  image: { repository: 'team/web', digest: `sha256:${'a'.repeat(64)}`, tag: 'v2' },
  stage: 'beforeTraffic',
  hook: 'smoke',
  testRoute: { header: 'X-Canary', value: 'always' },
  call: 1,
  firstCalledAt: '2026-03-04T12:00:00.000Z',
};
/** A response payload as the SDK hands it over (bytes; the SDK adds transformToString, which the adapter does not use). */
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)) as never;

beforeEach(() => lambda.reset());

describe('AwsHookCaller: Lambda', () => {
  it('invokes the function synchronously with the rollout context and reads its answer', async () => {
    // Prepare
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      Payload: bytes({ status: 'pass', message: '20 requests answered', details: { p99: 12 } }),
    });
    // Act
    const outcome = await new AwsHookCaller(client).call({ lambda: FN }, request, 25);
    // Assess
    expect(outcome).toEqual({
      kind: 'answer',
      answer: { status: 'pass', message: '20 requests answered', details: { p99: 12 } },
    });
    const input = lambda.commandCalls(InvokeCommand)[0]?.args[0].input;
    expect(input?.FunctionName).toBe(FN);
    expect(input?.InvocationType).toBe('RequestResponse');
    expect(JSON.parse(new TextDecoder().decode(input?.Payload as Uint8Array))).toEqual(request);
  });

  it('turns a function error (FunctionError with errorType and errorMessage) into an error outcome', async () => {
    lambda.on(InvokeCommand).resolves({
      StatusCode: 200,
      FunctionError: 'Unhandled',
      Payload: bytes({ errorType: 'TypeError', errorMessage: 'fetch failed' }),
    });
    expect(await new AwsHookCaller(client).call({ lambda: FN }, request, 25)).toEqual({
      kind: 'error',
      message: 'the function failed (Unhandled): TypeError: fetch failed',
    });
  });

  it('passes on the wait Lambda asks for when it throttles, and refuses an answer outside the contract', async () => {
    lambda
      .on(InvokeCommand)
      .rejectsOnce(
        new TooManyRequestsException({
          message: 'Rate exceeded',
          $metadata: { httpStatusCode: 429 },
          retryAfterSeconds: '3',
          Reason: 'ReservedFunctionConcurrentInvocationLimitExceeded',
        }),
      )
      .resolves({ StatusCode: 200, Payload: bytes({ ok: true }) });
    const caller = new AwsHookCaller(client);
    expect(await caller.call({ lambda: FN }, request, 25)).toEqual({
      kind: 'error',
      message: 'TooManyRequestsException: Rate exceeded',
      retryAfterSeconds: 3,
    });
    expect(await caller.call({ lambda: FN }, request, 25)).toMatchObject({
      kind: 'error',
      message: expect.stringMatching(/^not a hook answer/),
    });
  });
  it("invokes a function of another region with that region's client, a name and its own region's ARN with its own", async () => {
    // Prepare: Lambda answers a function of another region only at that region's endpoint.
    const other = new LambdaClient({ region: 'eu-west-1' });
    const otherLambda = mockClient(other);
    otherLambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ status: 'pass' }) });
    lambda.on(InvokeCommand).resolves({ StatusCode: 200, Payload: bytes({ status: 'pass' }) });
    const regions: string[] = [];
    const caller = new AwsHookCaller(client, undefined, (region) => {
      regions.push(region);
      return region === 'eu-west-1' ? other : client;
    });
    const elsewhere = 'arn:aws:lambda:eu-west-1:123456789012:function:web-smoke:live';
    // Act
    const outcome = await caller.call({ lambda: elsewhere }, request, 25);
    await caller.call({ lambda: 'web-smoke' }, request, 25);
    await caller.call({ lambda: FN }, request, 25);
    // Assess
    expect(outcome).toEqual({ kind: 'answer', answer: { status: 'pass' } });
    expect(otherLambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName)).toEqual([
      elsewhere,
    ]);
    expect(lambda.commandCalls(InvokeCommand).map((c) => c.args[0].input.FunctionName)).toEqual([
      'web-smoke',
      FN,
    ]);
    expect(regions).toEqual(['eu-west-1', 'us-east-1']);
    otherLambda.restore();
  });
});

describe('AwsHookCaller: which Invoke errors are retried (Lambda API reference, Invoke: Errors)', () => {
  const outcomeOf = async (e: Error) => {
    lambda.on(InvokeCommand).rejects(e);
    return new AwsHookCaller(client).call({ lambda: FN }, request, 25);
  };

  it('retries 5xx-class errors (ServiceException 500, EC2/ENI errors 502) and a failure with no HTTP answer', async () => {
    const $metadata = (httpStatusCode: number) => ({ $metadata: { httpStatusCode } });
    for (const e of [
      new ServiceException({ message: 'internal', ...$metadata(500) }),
      new EC2ThrottledException({ message: 'EC2 throttled', ...$metadata(502) }),
      new ENILimitReachedException({ message: 'no ENI', ...$metadata(502) }),
      Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }),
    ]) {
      const outcome = await outcomeOf(e);
      expect(outcome).toMatchObject({ kind: 'error', message: `${e.name}: ${e.message}` });
      expect(outcome).not.toHaveProperty('retry');
    }
  });

  it('does not retry what a retry cannot mend (4xx: no such function, access denied)', async () => {
    const missing = new ResourceNotFoundException({
      message: 'Function not found',
      $metadata: { httpStatusCode: 404 },
    });
    expect(await outcomeOf(missing)).toEqual({
      kind: 'error',
      message: 'ResourceNotFoundException: Function not found',
      retry: false,
    });
    const denied = Object.assign(new Error('not authorized to perform: lambda:InvokeFunction'), {
      name: 'AccessDeniedException',
      $metadata: { httpStatusCode: 403 },
    });
    expect(await outcomeOf(denied)).toMatchObject({ kind: 'error', retry: false });
  });
});

describe('AwsHookCaller: HTTPS', () => {
  const URL = 'https://checks.example.com/web';

  it('posts the context as JSON and reads a 2xx answer; 429 and 5xx are errors with Retry-After', async () => {
    const sent: { url: string; init: RequestInit }[] = [];
    const answers = [
      new Response(JSON.stringify({ status: 'running', message: 'suite 2 of 5' }), { status: 200 }),
      new Response('busy', { status: 503, headers: { 'retry-after': '4' } }),
    ];
    const caller = new AwsHookCaller(client, async (url, init) => {
      sent.push({ url, init });
      return answers.shift() as Response;
    });
    expect(await caller.call({ url: URL }, request, 25)).toEqual({
      kind: 'answer',
      answer: { status: 'running', message: 'suite 2 of 5' },
    });
    expect(await caller.call({ url: URL }, request, 25)).toEqual({
      kind: 'error',
      message: 'HTTP 503: busy',
      retryAfterSeconds: 4,
    });
    expect(sent[0]?.url).toBe(URL);
    expect(sent[0]?.init.method).toBe('POST');
    expect(JSON.parse(String(sent[0]?.init.body))).toEqual(request);
  });

  it('does not retry an endpoint that answers 4xx other than 429', async () => {
    const caller = new AwsHookCaller(client, async () => new Response('no such check', { status: 404 }));
    expect(await caller.call({ url: URL }, request, 25)).toEqual({
      kind: 'error',
      message: 'HTTP 404: no such check',
      retry: false,
    });
  });

  it('gives up on an endpoint that does not answer within the call timeout', async () => {
    const caller = new AwsHookCaller(client, (_url, init) => {
      return new Promise((_resolve, reject) =>
        init.signal?.addEventListener('abort', () => reject(init.signal?.reason)),
      );
    });
    expect(await caller.call({ url: URL }, request, 0.05)).toEqual({
      kind: 'error',
      message: 'no answer within 0.05 s',
    });
  });
});
