/**
 * The HookCaller over Lambda (Invoke, RequestResponse) and HTTPS (POST with a timeout). Every failure of a call is
 * an outcome, never a throw: the workflow decides what it means (core/hooks.ts decideHook).
 *
 * Lambda API reference, Invoke: with RequestResponse the response carries the function's result as Payload;
 * `FunctionError` ("Unhandled", or "Handled") is set when the function itself failed, and the payload then holds
 * `{ errorType, errorMessage }`; TooManyRequestsException (429, with `retryAfterSeconds`) when throttled.
 * Request and response payloads of a synchronous invocation are limited to 6 MB ("Lambda quotas"): the request is
 * a few hundred bytes, and only EVIDENCE_CHARS of an answer are kept.
 *
 * A function in another region is invoked with a client of that region. Lambda is a regional service: a client sends
 * to its own region's endpoint ("AWS Region", AWS SDKs and Tools reference guide: resources created in one Region do
 * not exist in any other; one client per Region), where a function ARN of another region is not found
 * (ResourceNotFoundException). IAM is global: the controller's role may invoke a function in any region its policy
 * names (infra/hook-permissions.ts grants the ARN as configured), so the call is made, not refused at validation.
 */
import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { HookSpec } from '../../core/config-hooks';
import { type HookOutcome, type HookRequest, readHookAnswer } from '../../core/hooks';
import type { HookCaller } from '../../ports';
import { errorName } from './sdk';

type Fetch = (url: string, init: RequestInit) => Promise<Response>;
type Lambda = Pick<LambdaClient, 'send'>;

/** The region of a function ARN (arn:partition:lambda:region:account:function:name), undefined for a name. */
export function functionRegion(target: string): string | undefined {
  return target.startsWith('arn:') ? target.split(':')[3] || undefined : undefined;
}

const error = (message: string, retryAfterSeconds?: number, retry = true): HookOutcome => ({
  kind: 'error',
  message: message.slice(0, 500),
  ...(retryAfterSeconds !== undefined && Number.isFinite(retryAfterSeconds) ? { retryAfterSeconds } : {}),
  ...(retry ? {} : { retry: false as const }),
});

/**
 * Whether a failed call may succeed when repeated: 429 (throttling), 5xx and 408 (timeouts) yes, other 4xx no.
 * Lambda API reference, Invoke, Errors: TooManyRequestsException 429; ServiceException 500; the EC2, ENI, subnet
 * and ResourceNotReady errors 502; the EFS mount timeouts 408; ResourceNotFoundException 404, and a request the
 * caller's role may not make is refused with AccessDeniedException (4xx). With no HTTP status (no answer, a
 * network error) a repeat may succeed.
 */
export function retryableStatus(status: number | undefined): boolean {
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/** An answer as the contract has it, or an error outcome saying what came instead. */
export function answerOf(text: string): HookOutcome {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return error(`the answer is not JSON: ${text.slice(0, 100)}`);
  }
  const answer = readHookAnswer(parsed);
  if (!answer)
    return error(`not a hook answer ({ "status": "pass" | "fail" | "running" }): ${text.slice(0, 100)}`);
  return { kind: 'answer', answer };
}

export class AwsHookCaller implements HookCaller {
  /**
   * `lambda`: the client of the controller's region (functions named by name, and ARNs of its region); `lambdaIn`:
   * the client of another region, for a function ARN of that region (without it, every call goes to `lambda`).
   */
  constructor(
    private readonly lambda: Lambda,
    private readonly fetcher: Fetch = (url, init) => fetch(url, init),
    private readonly lambdaIn?: (region: string) => Lambda,
  ) {}

  async call(
    hook: Pick<HookSpec, 'lambda' | 'url'>,
    request: HookRequest,
    timeoutSeconds: number,
  ): Promise<HookOutcome> {
    const signal = AbortSignal.timeout(timeoutSeconds * 1000);
    const body = JSON.stringify(request);
    try {
      if (hook.lambda) return await this.invoke(hook.lambda, body, signal);
      if (hook.url) return await this.post(hook.url, body, signal);
      return error('the hook names neither a function nor a URL');
    } catch (e) {
      if (signal.aborted) return error(`no answer within ${timeoutSeconds} s`);
      const name = errorName(e);
      const status = (e as { $metadata?: { httpStatusCode?: number } } | null)?.$metadata?.httpStatusCode;
      const retry = name === 'TooManyRequestsException' || retryableStatus(status);
      return error(`${name}: ${(e as Error).message ?? String(e)}`, retryAfter(e), retry);
    }
  }

  private async invoke(functionName: string, body: string, abortSignal: AbortSignal): Promise<HookOutcome> {
    const region = functionRegion(functionName);
    const client = region && this.lambdaIn ? this.lambdaIn(region) : this.lambda;
    const out = await client.send(
      new InvokeCommand({
        FunctionName: functionName,
        InvocationType: 'RequestResponse',
        Payload: new TextEncoder().encode(body),
      }),
      { abortSignal },
    );
    const text = out.Payload ? new TextDecoder().decode(out.Payload) : '';
    if (out.FunctionError) {
      let detail = text.slice(0, 200);
      try {
        const e = JSON.parse(text) as { errorType?: unknown; errorMessage?: unknown };
        detail = `${String(e.errorType ?? 'Error')}: ${String(e.errorMessage ?? '')}`;
      } catch {
        // not JSON: keep the text
      }
      return error(`the function failed (${out.FunctionError}): ${detail}`);
    }
    return answerOf(text);
  }

  private async post(url: string, body: string, signal: AbortSignal): Promise<HookOutcome> {
    const res = await this.fetcher(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
      signal,
      redirect: 'error',
    });
    const text = await res.text();
    if (!res.ok) {
      const after = Number(res.headers.get('retry-after') ?? Number.NaN);
      const retry = res.status === 429 || res.status >= 500;
      return error(
        `HTTP ${res.status}: ${text.slice(0, 200)}`,
        Number.isFinite(after) ? after : undefined,
        retry,
      );
    }
    return answerOf(text);
  }
}

/** TooManyRequestsException's retryAfterSeconds (a string in the API model), when the error carries one. */
function retryAfter(e: unknown): number | undefined {
  const value = (e as { retryAfterSeconds?: unknown } | null)?.retryAfterSeconds;
  const n = typeof value === 'string' || typeof value === 'number' ? Number(value) : Number.NaN;
  return Number.isFinite(n) ? n : undefined;
}
