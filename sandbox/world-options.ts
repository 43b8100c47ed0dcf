import type { ServiceConfigInput } from '../functions/core/config';
import type { MetricSource } from '../functions/ports';
import type { LocalAlarmSpec } from './alarms';
import type { LocalFunction } from './hooks';
import type { TimeKeepingLimits } from './timekeeping';
import type { FaultProfile } from './versions';

/** What a sandbox world is made of: its services, versions, traffic and time scale (sandbox/world.ts). */
export interface WorldOptions {
  /** Rollout seconds per real second. */
  scale: number;
  /** Requests per second through the listeners, shared equally by the services. */
  rps: number;
  traffic: 'http' | 'synthetic';
  seed?: number;
  services: ServiceConfigInput[];
  /** The version each service runs when the world starts (`byService`: its own, for the services named). */
  stable: { tag: string; profile: FaultProfile; byService?: Record<string, string> };
  images: { tag: string; profile: FaultProfile }[];
  alarms?: LocalAlarmSpec[];
  /** Rollout seconds a new version (and each new task of the canary) takes to become healthy. */
  startSeconds?: number;
  /** Canary tasks the cluster can place (the stable service runs 10); more stay PENDING. Default: no limit. */
  canaryTaskLimit?: number;
  /** Real ms between the workflow's retries. */
  retryIntervalMs?: number;
  /** ms the load balancer takes to apply a change. */
  propagationMs?: number;
  /** Rollout seconds a Route 53 change stays PENDING before it is INSYNC (default 10). */
  route53SyncSeconds?: number;
  /** Rollout seconds an execution may run before it ends TIMED_OUT; default: the state machine's TimeoutSeconds. */
  executionTimeoutSeconds?: number;
  /**
   * Wraps every function invocation: the state machine's tasks, and the asynchronous ones EventBridge makes
   * (`OnAlarm` from the alarms, `Reconcile` on an execution's status change). Fault injection in tests.
   */
  invoke?: (fn: string, event: unknown, call: () => Promise<unknown>) => Promise<unknown>;
  /** Hook functions by name besides the sandbox's own (`web-smoke-test`, and `slow-check`, "running" once then pass: sandbox/hooks.ts). */
  hookFunctions?: Record<string, LocalFunction>;
  /** What Analyze reads instead of the load balancer's recorded metrics (a scripted source, in tests). */
  metrics?: MetricSource;
  /** How far the sandbox may fall behind its compressed time before its run is invalid (sandbox/timekeeping.ts). */
  timeKeeping?: TimeKeepingLimits;
  /** Every log line of every task goes here (nothing is printed by default). */
  onLog?: (level: 'info' | 'warn' | 'error', message: string, extra?: Record<string, unknown>) => void;
}
