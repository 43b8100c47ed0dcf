/**
 * The hook functions the sandbox runs in-process, behind a local Lambda that answers Invoke as Lambda does, so the
 * real hook adapter (functions/adapters/aws/hooks.ts) calls them. Lambda API reference, Invoke: a function that
 * throws gives StatusCode 200 with `FunctionError: "Unhandled"` and the payload `{ errorType, errorMessage }`; an
 * unknown function, ResourceNotFoundException (404).
 */

import type { InvokeCommand } from '@aws-sdk/client-lambda';
import type { TrafficConfig } from '../functions/core/config';
import { albTraffic } from '../functions/core/config-route';
import type { HookAnswer, HookRequest } from '../functions/core/hooks';
import type { Backends } from './deployer';
import { forwardKey, type LocalLoadBalancer } from './load-balancer';
import type { MetricsRecorder } from './metrics';
import { serve } from './versions';

export type LocalFunction = (event: HookRequest) => Promise<HookAnswer>;

/**
 * The smoke test's requests: a few calls of the checkout path, through the test route only. The load balancer counts
 * them in the canary target group's metrics, as ALB does; fewer than the demo alarm's minimum, so a failing smoke
 * test is not also an alarm.
 */
const SMOKE_REQUESTS = 10;
export const SMOKE_PATH = '/checkout';

export interface SmokeWorld {
  lb: LocalLoadBalancer;
  backends: Backends;
  recorder: MetricsRecorder;
  now: () => number;
  /** The forward action users' requests of a service go through. */
  listenerOf: (service: string) => string;
}

/**
 * A team's smoke test: calls the checkout path through the test route (the header rule), checks that the new
 * version answered and that nothing failed. Its requests are not users': they go through the header rule alone.
 */
export function smokeTest(w: SmokeWorld): LocalFunction {
  return async (event) => {
    if (!event.testRoute) return { status: 'fail', message: 'no test route: the service has no header rule' };
    const headers = { [event.testRoute.header.toLowerCase()]: event.testRoute.value };
    let failed = 0;
    let otherVersion = 0;
    for (let i = 0; i < SMOKE_REQUESTS; i++) {
      const tg = w.lb.pick(w.listenerOf(event.service), headers, undefined, 0.5);
      const running = tg ? w.backends.get(tg) : undefined;
      if (!tg || !running) {
        failed++;
        continue;
      }
      if (running.version.digest !== event.image.digest) otherVersion++;
      const now = w.now();
      const answer = serve(running.version.profile, (now - running.startedAtMs) / 1000, 0.99, 0.5);
      const status = running.version.profile.brokenPaths?.includes(SMOKE_PATH) ? 500 : answer.status;
      w.recorder.record(tg, now, status, answer.latencyMs);
      if (status >= 500) failed++;
    }
    const details = {
      requests: SMOKE_REQUESTS,
      failed,
      path: SMOKE_PATH,
      answeredByOtherVersion: otherVersion,
    };
    if (otherVersion > 0)
      return { status: 'fail', message: `${otherVersion} answers came from another version`, details };
    if (failed > 0)
      return {
        status: 'fail',
        message: `${failed} of ${SMOKE_REQUESTS} ${SMOKE_PATH} requests failed`,
        details,
      };
    return { status: 'pass', message: `${SMOKE_REQUESTS} ${SMOKE_PATH} requests answered`, details };
  };
}

/** A long check: "running" for its first `calls - 1` calls of a rollout's stage, then pass. */
export function slowCheck(calls: number): LocalFunction {
  const seen = new Map<string, number>();
  return async (event) => {
    const key = `${event.rolloutId}/${event.stage}/${event.step?.index ?? ''}`;
    const n = (seen.get(key) ?? 0) + 1;
    seen.set(key, n);
    return n < calls
      ? { status: 'running', message: `check ${n} of ${calls}` }
      : { status: 'pass', message: `passed after ${calls} calls` };
  };
}

/** A Lambda client whose Invoke runs a local function (the other commands are not Lambda's business here). */
export function localLambda(
  functions: Record<string, LocalFunction>,
  onInvoke: () => void = () => undefined,
) {
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return {
    send: async (command: InvokeCommand) => {
      onInvoke();
      const name = String(command.input.FunctionName).replace(/^arn:[^:]+:lambda:[^:]+:\d+:function:/, '');
      const fn = functions[name.split(':')[0] ?? ''];
      if (!fn) {
        const e = new Error(`Function not found: ${command.input.FunctionName}`);
        e.name = 'ResourceNotFoundException';
        throw e;
      }
      const event = JSON.parse(decoder.decode(command.input.Payload as Uint8Array)) as HookRequest;
      try {
        const answer = await fn(event);
        return { StatusCode: 200, Payload: encoder.encode(JSON.stringify(answer)) };
      } catch (error) {
        const e = error as Error;
        return {
          StatusCode: 200,
          FunctionError: 'Unhandled',
          Payload: encoder.encode(JSON.stringify({ errorType: e.name, errorMessage: e.message })),
        };
      }
    },
  };
}

/** What the sandbox's hook functions see of the world (sandbox/world.ts World). */
export interface HookWorld {
  lb: LocalLoadBalancer;
  backends: Backends;
  recorder: MetricsRecorder;
  clock: { now(): Date };
  config(service: string): { traffic: TrafficConfig };
}

/** The hook functions every sandbox world runs, by function name. */
export function sandboxHookFunctions(w: HookWorld): Record<string, LocalFunction> {
  const smoke = smokeTest({
    ...w,
    now: () => w.clock.now().getTime(),
    listenerOf: (service) => forwardKey(albTraffic(w.config(service).traffic)),
  });
  return { 'web-smoke-test': smoke, 'slow-check': slowCheck(2) };
}
