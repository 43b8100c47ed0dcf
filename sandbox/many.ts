/**
 * Many rollouts at once on one controller: each service behind its own rule of a shared ALB listener, with its
 * own target groups, ECS services, 5xx alarm, versions and plan, all pushed at the same moment. Some versions are
 * healthy (promoted), some fail the judge (rolled back by analysis), some turn bad at once (rolled back by their
 * alarm). What each service got is collected apart, so that any interference shows: its weights, lock, records,
 * history and notifications.
 */
import { albTraffic, type ServiceConfigInput } from '../functions/core/config';
import type { StoredHistoryEntry } from '../functions/core/history';
import type { LocalAlarmSpec } from './alarms';
import { demoService, HEALTHY, SERVER_ERRORS } from './demo';
import { forwardKey } from './load-balancer';
import type { FaultProfile } from './versions';
import { World } from './world';

export type Behaviour = 'healthy' | 'failsJudge' | 'failsAlarm';

/** What each behaviour must end as: the execution's status and error, the rollout's outcome. */
export const EXPECTED: Record<Behaviour, { status: string; error?: string; outcome: string }> = {
  healthy: { status: 'SUCCEEDED', outcome: 'promoted' },
  failsJudge: { status: 'FAILED', error: 'CanaryFailed', outcome: 'rolledBack' },
  failsAlarm: { status: 'FAILED', error: 'AlarmFired', outcome: 'rolledBack' },
};

/** Turns bad 40 s after it starts, well before an analysis could judge it: its alarm rolls it back. */
const ALARMED: FaultProfile = {
  errorRate: 0.001,
  latencyMs: 8,
  jitterMs: 3,
  badAfterSeconds: 40,
  badErrorRate: 0.6,
};
const PROFILES: Record<Behaviour, FaultProfile> = {
  healthy: HEALTHY,
  failsJudge: SERVER_ERRORS,
  failsAlarm: ALARMED,
};
const BEHAVIOURS: Behaviour[] = ['healthy', 'failsJudge', 'failsAlarm'];

const ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012';
const hex = (i: number, width: number) => i.toString(16).padStart(width, '0');
/**
 * Services that share one ALB and its listener. "Quotas for your Application Load Balancers": 100 target groups
 * per load balancer (not adjustable) and 100 rules; two target groups a service, so 25 a load balancer keeps well
 * inside both.
 */
const SERVICES_PER_LISTENER = 25;

/** The listener of the `group`th load balancer (services 1–25 share the first). */
export function sharedListener(group: number): string {
  return `${ARN}:listener/app/shop-${group + 1}/${hex(0x50dc6c49 + group, 16)}/f2f7dc8efc522ab2`;
}

export interface ManyService {
  config: ServiceConfigInput;
  alarm: LocalAlarmSpec;
  behaviour: Behaviour;
  /** The image pushed for it (its own tag: `<service>-v2`). */
  tag: string;
}

/** The first step's weight of the `i`th service: 20% + its position (up to 79%), different for each of 60 services. */
export const firstWeight = (i: number) => 20 + (i % 60);

/**
 * `count` services, `svc01`…: behaviours in turn (healthy, fails the judge, fails its alarm); each plan starts at
 * its own weight, so a weight set by another service's rollout could not pass for its own.
 */
export function manyServices(count: number): ManyService[] {
  return Array.from({ length: count }, (_, i) => {
    const service = `svc${String(i + 1).padStart(count > 99 ? 3 : 2, '0')}`;
    const canaryTg = `${ARN}:targetgroup/${service}-canary/${hex(0x2453ed02 + i, 16)}`;
    const alarmName = `${service}-canary-5xx`;
    const listenerArn = sharedListener(Math.floor(i / SERVICES_PER_LISTENER));
    const config = demoService({
      service,
      repository: `shop/${service}`,
      traffic: {
        kind: 'alb',
        listenerArn,
        ruleArn: `${listenerArn.replace(':listener/', ':listener-rule/')}/${hex(0x9683b2d0 + i, 16)}`,
        stableTargetGroupArn: `${ARN}:targetgroup/${service}-stable/${hex(0x73e2d6bc + i, 16)}`,
        canaryTargetGroupArn: canaryTg,
        stickinessSeconds: 3600,
        deregistrationDelaySeconds: 30,
      },
      deployer: {
        kind: 'ecs',
        cluster: 'shop',
        stableService: service,
        canaryService: `${service}-canary`,
        container: service,
      },
      steps: [
        { weight: firstWeight(i), bakeSeconds: 60 },
        { weight: 100, bakeSeconds: 60 },
      ],
    });
    config.analysis = { ...config.analysis, alarms: [alarmName] };
    const alarm: LocalAlarmSpec = {
      name: alarmName,
      targetGroupArn: canaryTg,
      // Over 40% of a 10 s period's canary requests failing: a version with 5% errors (left to the judge) crosses it
      // about once in ten million periods, one failing 60% at once within a period or two.
      threshold: 0.4,
      periodSeconds: 10,
      evaluationPeriods: 1,
      minRequests: 15,
    };
    const behaviour = BEHAVIOURS[i % BEHAVIOURS.length] as Behaviour;
    return { config, alarm, behaviour, tag: `${service}-v2` };
  });
}

/** One service's rollout as it ended, and everything that was its own. */
export interface ServiceResult {
  service: string;
  behaviour: Behaviour;
  rolloutId: string;
  status: string;
  error?: string | undefined;
  outcome: string;
  reason: string;
  /** The canary's share on its rule, each change the load balancer applied, in order. */
  weights: number[];
  /** Target groups of other services that appeared in its rule's forward action. */
  foreignTargetGroups: string[];
  /** Its rollout records (one expected) and whether its lock is still held. */
  records: { rolloutId: string; service: string; tag: string }[];
  lockHeld: boolean;
  history: StoredHistoryEntry[];
  /** Notifications whose service is this one: PagerDuty pages (dedup keys) and SNS messages (their event). */
  pages: string[];
  sns: string[];
  /** Other services named in its notifications. */
  othersNamed: string[];
}

export interface ManyOptions {
  services?: number;
  scale: number;
  /** Requests per second through the shared listener (each service gets an equal share). */
  rps: number;
  traffic: 'http' | 'synthetic';
  seed: number;
  /** Real ms to wait for all rollouts (default: 90 minutes of rollout time). */
  timeoutMs?: number;
  progress?: (line: string) => void;
  /** Called once the world runs. */
  onStarted?: (world: World) => void;
}

export interface ManyResult {
  world: World;
  results: ServiceResult[];
  wallMs: number;
}

export function manyWorld(specs: ManyService[], o: ManyOptions): World {
  return new World({
    scale: o.scale,
    rps: o.rps,
    traffic: o.traffic,
    seed: o.seed,
    services: specs.map((s) => s.config),
    stable: {
      tag: 'v1',
      profile: HEALTHY,
      byService: Object.fromEntries(specs.map((s) => [s.config.service, `${s.config.service}-v1`])),
    },
    images: specs.map((s) => ({ tag: s.tag, profile: PROFILES[s.behaviour] })),
    alarms: specs.map((s) => s.alarm),
    startSeconds: 10,
  });
}

/** Pushes every service's image at once and waits for all their rollouts; each one's result is its own. */
export async function runMany(o: ManyOptions): Promise<ManyResult> {
  const say = o.progress ?? (() => undefined);
  const specs = manyServices(o.services ?? 20);
  const world = manyWorld(specs, o);
  const applied = new Map<string, { weights: Record<string, number> }[]>();
  world.lb.on('applied', (key: string, state: { weights: Record<string, number> }) =>
    applied.set(key, [...(applied.get(key) ?? []), state]),
  );
  const started = performance.now();
  await world.start();
  o.onStarted?.(world);
  try {
    // The stable versions take traffic first: the local CloudWatch publishes whole minutes of it (60 s late) before
    // the first set-weight takes its latency thresholds from them.
    await new Promise((r) => setTimeout(r, world.clock.realMs(150_000)));
    say(`Pushing ${specs.length} images at once…`);
    const pushed = await Promise.all(specs.map((s) => world.push(s.tag, s.config.service)));
    const ids = pushed.map((p, i) => {
      if (p.status !== 'started') throw new Error(`${specs[i]?.config.service} did not start: ${p.status}`);
      return p.rolloutId;
    });
    const timeoutMs = o.timeoutMs ?? world.clock.realMs(90 * 60_000);
    await Promise.all(ids.map((id) => world.waitFor(id, timeoutMs)));
    await world.executions.idle();
    const results = await Promise.all(
      specs.map((s, i) => collect(world, s, ids[i] as string, specs, applied)),
    );
    for (const r of results)
      say(
        `${r.service}  ${r.behaviour.padEnd(10)}  ${r.outcome.padEnd(10)}  ${(r.error ?? '-').padEnd(12)}  weights ${r.weights.join('→')}  pages ${r.pages.length}  sns ${r.sns.length}`,
      );
    return { world, results, wallMs: Math.round(performance.now() - started) };
  } finally {
    await world.stop();
  }
}

/** What one service's rollout left: read from the store, the load balancer's record and the receiver. */
async function collect(
  world: World,
  spec: ManyService,
  rolloutId: string,
  specs: ManyService[],
  applied: Map<string, { weights: Record<string, number> }[]>,
): Promise<ServiceResult> {
  const service = spec.config.service;
  const t = albTraffic(world.config(service).traffic);
  const own = new Set([t.stableTargetGroupArn, t.canaryTargetGroupArn]);
  const changes = applied.get(forwardKey(t)) ?? [];
  const weights = changes.map((c) => {
    const canary = c.weights[t.canaryTargetGroupArn] ?? 0;
    const total = Object.values(c.weights).reduce((a, b) => a + b, 0);
    return total === 0 ? 0 : Math.round((canary / total) * 100);
  });
  const execution = world.executions.get(rolloutId);
  const record = await world.store.getRollout(rolloutId);
  const mine = world.receiver.messages.filter((m) => notifiedService(m.body) === service);
  const others = specs.map((s) => s.config.service).filter((s) => s !== service);
  const text = JSON.stringify(mine.map((m) => m.body));
  return {
    service,
    behaviour: spec.behaviour,
    rolloutId,
    status: execution?.status ?? 'unknown',
    error: execution?.error,
    outcome: record?.status ?? 'unknown',
    reason: record?.outcome?.reason ?? '',
    weights: weights.filter((w, i) => i === 0 || w !== weights[i - 1]),
    foreignTargetGroups: [...new Set(changes.flatMap((c) => Object.keys(c.weights)))].filter(
      (tg) => !own.has(tg),
    ),
    records: (await world.store.listByService(service, 10)).map((r) => ({
      rolloutId: r.rolloutId,
      service: r.service,
      tag: r.image.tag ?? '',
    })),
    lockHeld: (await world.store.getLock(service)) !== undefined,
    history: await world.store.history(rolloutId),
    pages: mine
      .filter((m) => m.channel === 'pagerduty')
      .map((m) => String((m.body as { dedup_key?: string }).dedup_key)),
    sns: mine
      .filter((m) => m.channel === 'sns')
      .map(
        (m) => (m.body as { MessageAttributes: { event: { Value: string } } }).MessageAttributes.event.Value,
      ),
    othersNamed: others.filter((s) => text.includes(s)),
  };
}

/** The service a notification is about: SNS's `service` attribute, PagerDuty's `payload.component`. */
export function notifiedService(body: Record<string, unknown>): string | undefined {
  const sns = body as { MessageAttributes?: { service?: { Value?: string } } };
  const pd = body as { payload?: { component?: string } };
  return sns.MessageAttributes?.service?.Value ?? pd.payload?.component;
}
