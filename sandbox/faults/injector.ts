import { OperationError } from '../../cli/results';
import { configuredTargetGroups, routeOf } from '../../functions/core/routes';
import { alarmStateChangeEvent, ecrPushEvent } from '../aws-events';
import { DEMO_ALARM } from '../demo';
import type { World } from '../world';
import { InvocationFaults } from './invocations';
import type { Fault } from './kinds';

/** What the operator does: ends a bake, answers an approval, answers a pause on failure. */
type OperatorAction = 'bake' | 'approve' | 'reject' | 'retry' | 'abort';

/**
 * Carries out a schedule on one world: the invocation faults (InvocationFaults, ./invocations.ts), the events the
 * schedule delivers during invocations and after the end, and the operator (ends each bake, answers each
 * approval), all as a function of the schedule only.
 */
export class FaultInjector extends InvocationFaults {
  /** Rollouts an injected alarm, drift or rejection could legitimately stop (their image may be quarantined). */
  readonly blamed = new Set<string>();
  readonly rejected = new Set<string>();
  /** The events each push delivered, by tag, with their time (newest wins). */
  readonly pushes: { tag: string; id: string; time: string }[] = [];
  /** Executions started before the first late push of an older image: a v0 rollout among the later ones is wrong. */
  lateOlderPushAfter: number | undefined;

  /** Someone moves the route's traffic back to stable by hand, outside the rollout. */
  private async drift(kind: 'drift', rolloutId: string | undefined): Promise<void> {
    const world = this.world;
    if (!world) return;
    this.count(kind);
    if (rolloutId) this.blamed.add(rolloutId);
    const t = world.config().traffic;
    // Someone (a person, infrastructure as code reapplying its template) puts the listener (or the records) back
    // on stable.
    await this.context.run({ fn: 'Drift', call: 0, ops: 0 }, () =>
      t.kind === 'route53'
        ? world.controllerRouter.setWeights(routeOf(t), 0)
        : world.router.setWeights(
            {
              listenerArn: t.listenerArn,
              stableTargetGroupArn: t.stableTargetGroupArn,
              canaryTargetGroupArn: t.canaryTargetGroupArn,
            },
            0,
          ),
    );
    await new Promise((r) => setTimeout(r, 3));
  }

  /** Events the schedule delivers while the invocation runs, before its body. */
  protected async deliverDuring(f: Fault, rolloutId: string | undefined): Promise<void> {
    const world = this.world;
    if (!world) return;
    switch (f.kind) {
      case 'duplicatePush': {
        this.count(f.kind);
        const first = this.pushes[0];
        if (first) await this.push(first.tag, first.id, first.time);
        return;
      }
      case 'concurrentPush': {
        this.count(f.kind);
        const first = this.pushes[0];
        if (first)
          await Promise.all([
            this.push(first.tag, first.id, first.time),
            this.push(first.tag, first.id, first.time),
          ]);
        return;
      }
      case 'newerPush':
        this.count(f.kind);
        if (!this.pushes.some((p) => p.tag === 'v3')) await this.push('v3');
        return;
      case 'olderPush': {
        this.count(f.kind);
        // An image pushed before v2, whose event arrives only now.
        const first = this.pushes[0];
        const time = new Date(
          Date.parse(first?.time ?? world.clock.now().toISOString()) - 60_000,
        ).toISOString();
        // Late only if a newer push was handled already; before that, the controller has not seen anything newer.
        if (this.handledPushes > 0) this.lateOlderPushAfter ??= world.executions.list().length;
        await this.push('v0', crypto.randomUUID(), time);
        return;
      }
      case 'alarm':
        this.count(f.kind);
        await this.alarm(rolloutId);
        return;
      case 'duplicateAlarm':
        this.count(f.kind);
        await Promise.all([this.alarm(rolloutId), this.alarm(rolloutId)]);
        return;
      case 'drift':
        await this.drift(f.kind, rolloutId);
        return;
      case 'route53Throttled':
      case 'route53PriorRequest':
      case 'route53SyncSlow':
        // Only behind weighted records: a listener's service has no Route 53 to fail.
        if (world.config().traffic.kind === 'route53') {
          this.count(f.kind);
          world.route53.inject(f.kind, 1 + (f.at ?? 0));
        }
        return;
      case 'pagerDutyDown':
        this.count(f.kind);
        this.refusing.pagerduty += 1 + (f.at ?? 0);
        return;
      case 'snsDown':
        this.count(f.kind);
        this.refusing.sns += 1 + (f.at ?? 0);
        return;
      default:
        return;
    }
  }

  /** What an operator does once a wait is stored: ends the bake early, or answers the approval. */
  protected afterSuccess(fn: string, n: number, event: unknown): void {
    const rolloutId = FaultInjector.rolloutOf(event);
    if (fn === 'Bake' && (event as { kind?: string }).kind === 'failure') this.answerPause(rolloutId, event);
    else if (fn === 'Bake') this.operate(rolloutId, 'bake');
    if (fn === 'RequestApproval') {
      const reject = this.find(fn, n, ['reject'])[0];
      if (reject) {
        this.count('reject');
        if (rolloutId) {
          this.rejected.add(rolloutId);
          this.blamed.add(rolloutId);
        }
      }
      this.operate(rolloutId, reject ? 'reject' : 'approve');
    }
  }

  /** Pauses on a failed analysis seen, by rollout. */
  private readonly pauses = new Map<string, number>();
  private readonly distinctPauses = new Map<string, Set<string>>();

  /**
   * A rollout paused on a failed analysis (its wait is stored): check what the pause promises (100% on stable, the
   * canary still running, on-call paged), then answer as the schedule says.
   */
  private answerPause(rolloutId: string | undefined, event: unknown): void {
    const world = this.world;
    if (!world || !rolloutId) return;
    const n = (this.pauses.get(rolloutId) ?? 0) + 1;
    this.pauses.set(rolloutId, n);
    // A pause is its step and its place among the step's analyses (a repeated invocation of its wait is the same).
    const { step, analyses } = event as { step?: { index?: number }; analyses?: number };
    const distinct = this.distinctPauses.get(rolloutId) ?? new Set<string>();
    distinct.add(`${step?.index}:${analyses}`);
    this.distinctPauses.set(rolloutId, distinct);
    const groups = configuredTargetGroups(world.config().traffic);
    const canaryPercent = world.appliedCanaryPercent();
    if (canaryPercent !== 0)
      this.violations.push(
        `paused on a failure with traffic not 100% on stable: ${canaryPercent}% on the canary`,
      );
    if (!world.backends.get(groups.canary))
      this.violations.push('paused on a failure with the canary scaled down');
    // Each pause pages its own incident: as many incidents triggered as pauses seen (an earlier pause's resolve is
    // no page).
    const incidents = new Set(
      world.receiver.messages
        .filter((m) => m.channel === 'pagerduty' && m.body.event_action === 'trigger')
        .map((m) => String(m.body.dedup_key))
        .filter((key) => key.startsWith(`${rolloutId}:pause:`)),
    );
    if (incidents.size < distinct.size)
      this.violations.push(`paused on a failure without paging (${rolloutId})`);
    const answer = this.schedule.onFailure;
    if (answer === 'retry' && n === 1) this.operate(rolloutId, 'retry');
    else if (answer === 'retry' || answer === 'abort') this.operate(rolloutId, 'abort');
  }

  private operate(rolloutId: string | undefined, action: OperatorAction): void {
    const world = this.world;
    if (!world || !rolloutId) return;
    const run = (async () => {
      // Each attempt is an invocation like any other (the CLI's process, or the approval page's Lambda behind API
      // Gateway): it may fail before or after its effect, or meet the store failing; the operator tries again.
      for (let attempt = 0; attempt < 10; attempt++) {
        const outcome = await this.once('Operator', { rollout: { rolloutId } }, () =>
          this.act(world, rolloutId, action),
        ).catch((e: unknown) => (e instanceof OperationError && e.code !== 'failed' ? 'over' : 'retry'));
        if (outcome !== 'retry') return;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    this.track(run);
  }

  /** One attempt: 'done', 'over' (the wait is no longer this rollout's), or throws to be retried. */
  private async act(world: World, rolloutId: string, action: OperatorAction): Promise<string> {
    const record = await world.store.getRollout(rolloutId);
    if (record?.status !== 'running' || !record.wait) return 'over';
    if (action === 'retry' || action === 'abort') {
      if (record.wait.kind !== 'failure') return 'over';
      if (action === 'retry') await world.operations.retry(record.service);
      else await world.operations.abort(record.service, 'aborted by the fault campaign');
      return 'done';
    }
    if (action === 'bake') {
      if (record.wait.kind !== 'bake') return 'over';
      await world.operations.promote(record.service);
      return 'done';
    }
    if (record.wait.kind !== 'approval') return 'over';
    if (this.schedule.approveVia === 'page') {
      const link = world.approvalLinks.get(rolloutId);
      if (!link) return 'over';
      const url = new URL(link);
      const res = await fetch(`${url.origin}/approve`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({
          t: url.searchParams.get('t') ?? '',
          decision: action,
          reason: 'fault campaign',
        }).toString(),
      });
      if (res.status >= 500) throw new Error(`the approval page answered ${res.status}`);
      return 'done';
    }
    if (action === 'approve') await world.operations.approve(record.service);
    else await world.operations.reject(record.service, 'rejected by the fault campaign');
    return 'done';
  }

  /** A push through start-rollout, delivered as EventBridge does (asynchronously, retried, then dead-lettered). */
  push(tag: string, id: string = crypto.randomUUID(), time?: string): Promise<unknown> {
    const world = this.world;
    if (!world) throw new Error('attach the injector to a world first');
    const image = world.imageByTag(tag);
    const config = world.config();
    const at = time ?? world.clock.now().toISOString();
    if (!this.pushes.some((p) => p.id === id)) this.pushes.push({ tag, id, time: at });
    const event = ecrPushEvent({ id, time: at, repository: config.repository, digest: image.digest, tag });
    return this.asyncInvoke('StartRollout', event, () =>
      world.handlers.StartRollout(event, { functionName: 'canary-StartRollout' } as never),
    );
  }

  /** The gating alarm goes into ALARM: the event EventBridge delivers to on-alarm. */
  async alarm(rolloutId: string | undefined): Promise<unknown> {
    const world = this.world;
    if (!world) throw new Error('attach the injector to a world first');
    // Every rollout the alarm gates may be stopped by it (and its image quarantined, by design).
    const active = await this.context.exit(() => world.store.listActive());
    for (const r of active) this.blamed.add(r.rolloutId);
    if (rolloutId) this.blamed.add(rolloutId);
    const now = world.clock.now().toISOString();
    const event = alarmStateChangeEvent({
      id: crypto.randomUUID(),
      time: now,
      alarmName: DEMO_ALARM,
      value: 'ALARM',
      reason: 'Threshold Crossed (injected)',
      previous: 'OK',
    });
    return this.asyncInvoke('OnAlarm', event, () =>
      world.handlers.OnAlarm(event, { functionName: 'canary-OnAlarm' } as never),
    );
  }

  /** Deliveries after everything ended: a redelivered push, a late alarm. */
  async late(): Promise<void> {
    const late = this.schedule.faults.filter((f) => f.kind === 'lateRedelivery' || f.kind === 'lateAlarm');
    for (const f of late) {
      this.count(f.kind);
      if (f.kind === 'lateAlarm') await this.alarm(undefined);
      else for (const p of [...this.pushes]) await this.push(p.tag, p.id, p.time);
    }
  }
}
