import type { ServiceConfig } from './config';
import type { AbortReason } from './errors';
import type { Verdict } from './judge';
import type { JudgedPeriods } from './late-metrics';
import { planStepSchema } from './plan-step';
import { withAddedDefaults } from './started-config';
import * as v from './valibot';

/*
 * The documents an execution carries, as schemas: the tasks check them at their boundary
 * (functions/tasks/lib/inputs.ts) and their types are inferred from them.
 */

const digest = v.pipe(v.string(), v.regex(/^sha256:[0-9a-f]{64}$/));
const nonEmpty = v.pipe(v.string(), v.minLength(1));

export const imageSchema = /* @__PURE__ */ (() =>
  v.strictObject({
    repository: nonEmpty,
    /** `sha256:<64 hex>` */
    digest,
    tag: v.optional(v.string()),
  }))();
export type ImageRef = v.InferOutput<typeof imageSchema>;

/** Where traffic goes for one rollout, resolved by Prepare (target groups may have swapped roles). */
const albRouteSchema = /* @__PURE__ */ (() =>
  v.strictObject({
    /** Absent on routes carried by executions started before traffic had kinds. */
    kind: v.optional(v.literal('alb')),
    listenerArn: nonEmpty,
    ruleArn: v.optional(nonEmpty),
    stableTargetGroupArn: nonEmpty,
    canaryTargetGroupArn: nonEmpty,
    stickinessSeconds: v.optional(v.int()),
    headerRule: v.optional(
      v.strictObject({ header: v.string(), values: v.array(v.string()), priority: v.int() }),
    ),
  }))();
export type AlbRoute = v.InferOutput<typeof albRouteSchema>;

/**
 * Two weighted records of one name: each version's record (SetIdentifier), its load balancer (where its own
 * traffic is measured) and its target group (what the deployer sizes), in their current roles.
 */
const route53RouteSchema = /* @__PURE__ */ (() =>
  v.strictObject({
    kind: v.literal('route53'),
    hostedZoneId: nonEmpty,
    recordName: nonEmpty,
    recordType: v.picklist(['A', 'AAAA', 'CNAME']),
    ttlSeconds: v.int(),
    stableSetIdentifier: nonEmpty,
    canarySetIdentifier: nonEmpty,
    stableLoadBalancerArn: nonEmpty,
    canaryLoadBalancerArn: nonEmpty,
    stableTargetGroupArn: nonEmpty,
    canaryTargetGroupArn: nonEmpty,
  }))();
export type Route53Route = v.InferOutput<typeof route53RouteSchema>;

export const routeSchema = /* @__PURE__ */ (() => v.union([albRouteSchema, route53RouteSchema]))();
export type Route = v.InferOutput<typeof routeSchema>;

/**
 * The config a rollout started with. It was validated before the rollout started, with the schema synth and the
 * deploy validate it with (start-rollout takes it from the catalog, whose configs the deploy validated and
 * sealed), and travels unchanged in the execution's input: the tasks check only that it is there, so they bundle no config schema, and
 * fill the defaults of the fields added since executions first carried it (core/started-config.ts).
 */
const startedConfig = v.pipe(
  v.custom<ServiceConfig>(
    (v) => typeof v === 'object' && v !== null && typeof (v as { service?: unknown }).service === 'string',
    'must be the service config the rollout started with',
  ),
  v.transform(withAddedDefaults),
);

export function isRoute53Route(route: Route): route is Route53Route {
  return route.kind === 'route53';
}

/** The execution input: self-contained, so a config change never alters a rollout already running. */
export const rolloutDocSchema = /* @__PURE__ */ v.lazy(() =>
  v.strictObject({
    rolloutId: v.pipe(v.string(), v.regex(/^[A-Za-z0-9_-]{1,80}$/)),
    service: nonEmpty,
    image: imageSchema,
    config: startedConfig,
    plan: v.pipe(v.array(planStepSchema), v.minLength(1)),
    trigger: v.picklist(['ecr-push', 'deploy-requested']),
    requestedAt: nonEmpty,
  }),
);
export type RolloutDoc = v.InferOutput<typeof rolloutDocSchema>;

export const deployedVersionSchema = /* @__PURE__ */ (() =>
  v.strictObject({
    image: nonEmpty,
    /** Deployer-specific handle to restore it (an ECS task definition ARN). */
    revision: v.optional(nonEmpty),
  }))();
export type DeployedVersion = v.InferOutput<typeof deployedVersionSchema>;

export type RolloutStatus =
  | 'running'
  | 'promoting'
  | 'promoted'
  | 'rollingBack'
  | 'rolledBack'
  /** The rollback itself could not complete: traffic needs a person. */
  | 'rollbackFailed';

export const TERMINAL_STATUSES: ReadonlySet<RolloutStatus> = new Set([
  'promoted',
  'rolledBack',
  'rollbackFailed',
]);

/** The statuses of a rollout that has not ended: it holds its service's lock until it writes a terminal one. */
export const LIVE_STATUSES: ReadonlySet<RolloutStatus> = new Set(['running', 'promoting', 'rollingBack']);

/**
 * Whether a rollout still holds its service, so that stopping it may move the service's traffic: its record is
 * live and the service's lock (`holder`) is its own. Once it ended, the lock and the listener may be a newer
 * rollout's.
 */
export function holdsService(record: RolloutRecord | undefined, holder: string | undefined): boolean {
  return record !== undefined && LIVE_STATUSES.has(record.status) && holder === record.rolloutId;
}

export interface WaitToken {
  token: string;
  /** `failure`: paused on a failed analysis, traffic on stable, for `canary retry` or `canary abort`. */
  kind: 'bake' | 'approval' | 'failure';
  step: number;
  /**
   * The wait's place in its execution (waitSeq): a later step, or a later analysis of the same step, comes after.
   * Absent on waits stored before waits were ordered.
   */
  seq?: number;
  /** When the task that stored it started; orders two attempts at the same wait (a retry starts later). */
  since: string;
}

/** Where a wait stands in its execution's order of waits (see WaitToken). */
export type WaitOrder = Pick<WaitToken, 'seq' | 'since'>;

/** More analyses than one step can make in a week (about 370 at most, core/rules.ts SPACING_DIVISOR). */
export const MAX_ANALYSES_PER_STEP = 100_000;

/** The order of a wait in its execution: the step, then how many analyses of that step came before it. */
export function waitSeq(step: number, analyses: number): number {
  return step * MAX_ANALYSES_PER_STEP + Math.min(analyses, MAX_ANALYSES_PER_STEP - 1);
}

/**
 * Whether storing `next` may replace `current`: never when `current` is a later wait, so a wait task that
 * finishes late (slow, retried, its state already timed out) cannot put its dead token over the live one that
 * alarms and operators resolve. The same wait again (a retry, a repeated write) replaces it when it started no
 * earlier.
 */
export function replacesWait(current: WaitOrder | undefined, next: WaitOrder): boolean {
  if (current?.seq === undefined || next.seq === undefined) return true;
  if (next.seq !== current.seq) return next.seq > current.seq;
  return next.since >= current.since;
}

/**
 * A rollout held where it is. `operator`: paused by a person (`canary pause`, the approval page): no weight moves
 * up until `canary resume`; analyses go on and can still roll back. `failure`: an analysis failed under
 * analysis.onFailure 'pause': 100% is on stable and the canary is kept, until `canary retry` or `canary abort`.
 */
export interface PauseMark {
  cause: 'operator' | 'failure';
  at: string;
  /** Who paused (an operator's name, or the workflow) and from where. */
  by: string;
  via: 'cli' | 'approval-page' | 'workflow';
  reason?: string;
  /** The canary's share (%) held. */
  weight: number;
}

/** Latency thresholds in ms, fixed for a rollout and the same for both versions. */
export interface LatencyThresholds {
  p99Ms: number;
  p50Ms: number;
}

export interface RolloutRecord {
  rolloutId: string;
  service: string;
  image: ImageRef;
  status: RolloutStatus;
  /** Alarm names that gate this rollout, so an alarm finds its rollouts without reading configs. */
  alarms: string[];
  createdAt: string;
  updatedAt: string;
  route?: Route;
  /** What the stable service ran before, so a rollback after a started promotion can restore it. */
  previousStable?: DeployedVersion;
  stableUpdated?: boolean;
  currentStep?: number;
  canaryPercent?: number;
  /** When the canary first took traffic: the analysis window starts here. */
  canaryStartedAt?: string;
  /**
   * The stable version's p99 and p50 target response time (ms) over the span before the canary started, computed
   * once by the first set-weight and passed unchanged to every analysis (the slow-request thresholds). Absent when
   * the stable version had no traffic then: the judge falls back to comparing p99s.
   */
  latencyThresholds?: LatencyThresholds;
  /** When each weight the rollout set took the listener (steps, restores): the analysis compares no minute holding one. */
  weightChangedAt?: string[];
  wait?: WaitToken;
  /**
   * The order of the last wait stored, kept when its token is cleared: a wait that finishes late must stay
   * refused after the live one ended, not only while it is stored.
   */
  waitOrder?: WaitOrder;
  abort?: { reason: AbortReason; message: string; at: string };
  /** Set while the rollout is paused (PauseMark); removed on resume or retry. */
  paused?: PauseMark;
  /**
   * The incidents (dedup keys) of pauses on failure that ended by a retry whose resolve PagerDuty did not take:
   * the rollout's next PagerDuty notification resolves them (functions/tasks/notify.ts), as does reconcile.
   */
  unresolvedPauses?: string[];
  /** The rollback's page PagerDuty did not take when reconcile sent it: its retried event sends it again. */
  pageOwed?: boolean;
  lastVerdict?: Verdict;
  /**
   * The periods lastVerdict judged, as earlier releases kept them on the record; they are now an item of their own
   * (RolloutStore.getJudgedPeriods). Compared when newer than the item's, removed by an analysis once an item at
   * least as new exists (core/late-metrics.ts newerJudgedPeriods).
   */
  judgedPeriods?: JudgedPeriods;
  outcome?: { result: 'promoted' | 'rolledBack' | 'rollbackFailed'; reason: string; at: string };
}

/** The lock that keeps one rollout per service; `pending` is the newer image that superseded the holder. */
export interface ServiceLock {
  service: string;
  rolloutId: string;
  acquiredAt: string;
  pending?: RolloutDoc;
  /** The holder's execution input: the lock belongs to that execution, started or not yet. */
  doc?: RolloutDoc;
  /** The rollout that handed the lock over to the holder (it was the holder's `pending`). */
  handedOverBy?: string;
}

const DIGEST = /^sha256:([0-9a-f]{64})$/;

/**
 * Execution name `<service>-<first 16 hex of the digest>`: Step Functions refuses a second execution with the
 * same name, so one image is rolled out once per service however often its event is delivered.
 */
export function rolloutIdFor(service: string, digest: string): string {
  const match = DIGEST.exec(digest);
  if (!match?.[1]) throw new RangeError(`not an image digest: ${digest}`);
  return `${service}-${match[1].slice(0, 16)}`;
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** Glob with `*` and `?` only, as ECR tag filters use. */
export function tagMatches(pattern: string | undefined, tag: string | undefined): boolean {
  if (pattern === undefined) return true;
  if (tag === undefined) return false;
  const source = pattern
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(tag);
}

export function imageLabel(image: ImageRef): string {
  return `${image.repository}:${image.tag ?? image.digest.slice(0, 19)}`;
}
