import type { RolloutRecord } from '../../functions/core/rollout';
import { configuredTargetGroups } from '../../functions/core/routes';
import { SERVER_ERRORS } from '../demo';
import type { World } from '../world';
import type { FaultInjector } from './injector';
import { type Schedule, STORE_KINDS } from './kinds';

/** Kinds a correct controller rides out without rolling back: the newest healthy image must end on stable. */
const BENIGN: ReadonlySet<string> = new Set([
  'throttle',
  'serviceError',
  'clientTimeout',
  'timeout',
  'outOfMemory',
  'crashAfterEffect',
  'halfway',
  'storeThroughputExceeded',
  'storeThrottling',
  'storeInternalError',
  'storeConditionRaced',
  'duplicatePush',
  'concurrentPush',
  'newerPush',
  'olderPush',
  'pagerDutyDown',
  'snsDown',
  'metricsMissing',
  'metricsLate',
  'lateRedelivery',
  'lateAlarm',
]);

function isBenign(schedule: Schedule): boolean {
  return schedule.faults.every((f) => BENIGN.has(f.kind));
}

/**
 * Whether the image's rollouts were all rolled back for what the schedule did to them (an alarm, a rejection, a
 * hand-made change) or for the image's own errors: an older image promoted before it then rightly stays on stable.
 */
function turnedDown(
  records: readonly RolloutRecord[],
  tag: string | undefined,
  injector: FaultInjector,
  healthy: boolean,
): boolean {
  const rollouts = records.filter((r) => r.image.tag === tag);
  return (
    rollouts.length > 0 &&
    rollouts.every((r) => r.status === 'rolledBack' && (injector.blamed.has(r.rolloutId) || !healthy))
  );
}

/**
 * The controller's invariants, as checks on a settled world: traffic 100% on stable, nothing scaled down with
 * weight, nothing left running or locked, one rollout per image, failures paged and promotions not.
 */
/** The route's weights as configured and as the data plane applies them (listener, or records' DNS servers). */
function routeWeights(world: World): {
  configured?: Record<string, number>;
  applied?: Record<string, number>;
} {
  const t = world.config().traffic;
  if (t.kind === 'route53')
    return { configured: world.route53.weights(t, 'listed'), applied: world.route53.weights(t, 'answering') };
  const configured = world.lb.configuredState(t.listenerArn)?.weights;
  const applied = world.lb.appliedState(t.listenerArn)?.weights;
  return { ...(configured ? { configured } : {}), ...(applied ? { applied } : {}) };
}

export async function checkInvariants(world: World, injector: FaultInjector): Promise<string[]> {
  const v: string[] = [...world.violations.map((x) => `scaled down with weight: ${x}`)];
  if (world.executions.list().some((e) => e.status === 'RUNNING')) v.push('an execution is still running');
  const locks = world.store.heldLocks();
  // What holds the lock, not when (the time differs from run to run).
  if (locks.length > 0)
    v.push(
      `lock still held: ${locks.map((l) => `${l.service} by ${l.rolloutId}${l.pending ? ` (pending ${l.pending.rolloutId})` : ''}`).join(', ')}`,
    );
  if (injector.deadLetters.length > 0)
    v.push(`dead letters left after a redrive: ${injector.deadLetters.map((d) => d.fn).join(', ')}`);
  const tgs = configuredTargetGroups(world.config().traffic);
  const { configured, applied } = routeWeights(world);
  // Weighted records: what the zone lists is what every DNS server answers (the last change INSYNC).
  if (JSON.stringify(configured) !== JSON.stringify(applied)) v.push('weights not applied');
  const stableWeight = applied?.[tgs.stable] ?? 0;
  const canaryWeight = applied?.[tgs.canary] ?? 0;
  if (!(stableWeight > 0 && canaryWeight === 0))
    v.push(`traffic not 100% on stable: ${JSON.stringify(applied)}`);
  if (world.backends.get(tgs.canary)) v.push('canary still running');
  const serving = world.backends.get(tgs.stable)?.version.tag;

  const records = (await world.store.listByService(world.config().service, 100)).filter(
    Boolean,
  ) as RolloutRecord[];
  for (const r of records)
    if (r.status !== 'promoted' && r.status !== 'rolledBack')
      v.push(`rollout ${r.rolloutId} ended ${r.status}`);
  const promoted = records.filter((r) => r.status === 'promoted');
  const last = [...promoted].sort((a, b) => (a.outcome?.at ?? '').localeCompare(b.outcome?.at ?? '')).at(-1);
  const expectStable = last?.image.tag ?? 'v1';
  if (serving !== expectStable)
    v.push(`stable runs ${serving} but the last promoted rollout is ${expectStable}`);

  // The newest pushed image (event time) or the original stable; never an older or superseded image.
  const newest = [...injector.pushes].sort((a, b) => a.time.localeCompare(b.time)).at(-1)?.tag;
  const healthy = (tag: string | undefined) =>
    tag !== undefined && world.imageByTag(tag).profile !== SERVER_ERRORS;
  if (serving !== 'v1' && serving !== newest && !turnedDown(records, newest, injector, healthy(newest)))
    v.push(`stable runs ${serving}, not the newest pushed image ${newest}`);
  if (isBenign(injector.schedule) && healthy(newest) && serving !== newest)
    v.push(
      `the newest healthy image ${newest} did not end on stable (${serving}) under faults it should ride out`,
    );

  // One event, at most one rollout: each image rolled out at most once (no event restarts it).
  const perImage = new Map<string, number>();
  for (const e of world.executions.list()) {
    const input = JSON.parse(e.input) as { rollout: { image: { tag?: string } } };
    const tag = input.rollout.image.tag ?? '?';
    perImage.set(tag, (perImage.get(tag) ?? 0) + 1);
  }
  for (const [tag, n] of perImage)
    if (n > 1) v.push(`image ${tag} rolled out ${n} times from its push events`);
  // (An older push handled before any newer one may roll out: the controller had seen nothing newer then.)
  const afterLate = world.executions.list().slice(injector.lateOlderPushAfter ?? Number.POSITIVE_INFINITY);
  if (
    afterLate.some(
      (e) => (JSON.parse(e.input) as { rollout: { image: { tag?: string } } }).rollout.image.tag === 'v0',
    )
  )
    v.push('a late push of an older image (v0) started a rollout');

  v.push(...checkPages(world, injector, records));

  // No healthy image is quarantined, unless an alarm, a rejection or a hand-made change stopped its rollout.
  for (const r of records) {
    const tag = r.image.tag;
    if (!healthy(tag)) continue;
    if ((await world.store.isQuarantined(r.service, r.image.digest)) && !injector.blamed.has(r.rolloutId))
      v.push(`healthy image ${tag} quarantined`);
  }
  if (world.errors.length > 0) v.push(`errors: ${world.errors.map(String).join('; ')}`);
  return v;
}

/** Pages: every failed rollout pages, under its own dedup key (one incident); a promotion never pages. */
function checkPages(world: World, injector: FaultInjector, records: RolloutRecord[]): string[] {
  const v: string[] = [];
  const pages = world.receiver.messages.filter(
    (m) => m.channel === 'pagerduty' && m.body.event_action !== 'resolve',
  );
  const keys = new Set(pages.map((m) => String(m.body.dedup_key)));
  for (const r of records) {
    const deliberate =
      r.abort?.reason === 'Superseded' || r.abort?.reason === 'Aborted' || injector.rejected.has(r.rolloutId);
    if (r.status === 'promoted' && keys.has(r.rolloutId))
      v.push(`a promotion paged on-call (${r.rolloutId})`);
    if (r.status === 'rolledBack' && !deliberate && !keys.has(r.rolloutId))
      v.push(`rollout ${r.rolloutId} rolled back without paging`);
  }
  // A pause's page has its own incident, `<rollout id>:pause:<step>:<when>` (core/notification.ts pauseDedupKey).
  for (const k of keys) {
    const rolloutId = k.split(':pause:')[0];
    if (!records.some((r) => r.rolloutId === rolloutId))
      v.push(`a page whose dedup_key ${k} names no rollout`);
  }
  // Every pause is over once everything settled (retried, aborted, timed out, or its rollout ended): its incident is
  // resolved. The notification that resolves it reads the pause from the record, so a failed store may lose it.
  const resolved = new Set(
    world.receiver.messages
      .filter((m) => m.channel === 'pagerduty' && m.body.event_action === 'resolve')
      .map((m) => String(m.body.dedup_key)),
  );
  const storeFailed = injector.schedule.faults.some((f) =>
    (STORE_KINDS as readonly string[]).includes(f.kind),
  );
  for (const k of keys)
    if (k.includes(':pause:') && !resolved.has(k) && !storeFailed)
      v.push(`pause incident ${k} never resolved`);
  return v;
}
