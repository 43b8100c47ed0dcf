/**
 * on-alarm: a gating CloudWatch alarm went into ALARM. For every active rollout it gates: 100% stable at once
 * (before anything else), then the rollout is marked aborted and its wait, if any, is failed with AlarmFired, so
 * the workflow rolls back. Duplicate events are harmless.
 */
import { ErrorName } from '../core/errors';
import { alarmStateChangeEvent } from '../core/events';
import type { RolloutRecord } from '../core/rollout';
import type { Clock, Executions, Log, RolloutStore, TrafficRouter } from '../ports';
import { recordHistory, shiftTraffic } from './lib/procedures';
import { task } from './lib/task';

export interface OnAlarmDeps {
  router: TrafficRouter;
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  log: Log;
}

export function makeOnAlarm(deps: OnAlarmDeps) {
  const { store, executions, clock, log } = deps;

  async function stop(record: RolloutRecord, alarmName: string, reason: string): Promise<void> {
    if (record.route) await shiftTraffic(deps, record.route, 0);
    const message = `alarm ${alarmName} in ALARM: ${reason}`;
    const marked = await store.markAborted(record.rolloutId, ErrorName.AlarmFired, message, clock.now());
    if (record.route) await store.updateRollout(record.rolloutId, { canaryPercent: 0 });
    if (marked.wait) await executions.sendTaskFailure(marked.wait.token, ErrorName.AlarmFired, message);
    await recordHistory(deps, record.rolloutId, 'alarm', message, { alarm: alarmName });
  }

  return task('CloudWatch Alarm State Change event', alarmStateChangeEvent, async (event) => {
    const { alarmName, state } = event.detail;
    if (state.value !== 'ALARM')
      return { alarm: alarmName, stopped: [] as string[], ignored: `state ${state.value}` };
    const gated = (await store.listActive()).filter((r) => r.alarms.includes(alarmName));
    const results = await Promise.allSettled(
      gated.map((r) => stop(r, alarmName, state.reason ?? 'no reason given')),
    );
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ id: gated[i]?.rolloutId, error: String(r.reason) }] : [],
    );
    if (failed.length > 0) {
      log.error('could not stop every rollout for the alarm', { alarmName, failed });
      // EventBridge retries the event; stopping is idempotent.
      throw new Error(`alarm ${alarmName}: could not stop ${failed.map((f) => f.id).join(', ')}`);
    }
    log.info('alarm handled', { alarmName, stopped: gated.map((r) => r.rolloutId) });
    return { alarm: alarmName, stopped: gated.map((r) => r.rolloutId) };
  });
}
