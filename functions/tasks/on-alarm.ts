/**
 * on-alarm: a gating CloudWatch alarm went into ALARM. For every active rollout it gates: the rollout is marked
 * aborted, 100% goes back on stable at once, and its wait, if any, is failed with AlarmFired, so the workflow rolls
 * back. When the store cannot be read, the running executions say which rollouts the alarm gates (their input
 * carries the config): 100% stable all the same, then the execution is stopped, and reconcile pages and repairs the
 * record once the store is back. When only part of the store can be read, the rollouts it lists are stopped through
 * it and the gated executions of the others without it; then the event fails, to be retried. Duplicate events are
 * harmless. A rollout paused on a failed analysis (100% on stable already) only records the alarm: it waits for a
 * person.
 */

import { alarmStateChangeEvent } from '../core/aws-events';
import { ErrorName, IncompleteListError, TransientError } from '../core/errors';
import type { RolloutDoc, RolloutRecord } from '../core/rollout';
import {
  abortRollout,
  configuredRoute,
  executionProgress,
  newestRunning,
  type RollbackDeps,
  recordHistory,
  shiftTraffic,
  stableAfterAbort,
} from './lib/procedures';
import { task } from './lib/task';

/** Stopping a rollout needs what putting traffic back needs (lib/procedures.ts). */
export type OnAlarmDeps = RollbackDeps;

export function makeOnAlarm(deps: OnAlarmDeps) {
  const { log } = deps;

  async function stop(record: RolloutRecord, alarmName: string, reason: string): Promise<string | undefined> {
    if (record.paused?.cause === 'failure') {
      // Paused on a failed analysis: 100% is on stable already (the mark is stored once it is verified) and the
      // rollout waits for a person, who sees the alarm in the history; a retry's analysis reads the alarm again.
      await recordHistory(
        deps,
        record,
        'alarm',
        `alarm ${alarmName} in ALARM while paused on a failed analysis (100% on stable): ${reason}`,
        { alarm: alarmName },
      );
      return undefined;
    }
    const route = record.route;
    // Stable is restored even when the mark cannot be stored (when the running executions say the rollout still
    // holds its service); the event is then retried, and the mark stored. A rollout that ended since the store was
    // read is left alone: the listener may be a newer rollout's.
    const outcome = await abortRollout(deps, record, {
      reason: ErrorName.AlarmFired,
      message: `alarm ${alarmName} in ALARM: ${reason}`,
      entry: { type: 'alarm', detail: { alarm: alarmName } },
      ...(route ? { putStableBack: stableAfterAbort(deps, record, route) } : {}),
    });
    return outcome.status === 'notHolding' ? outcome.why : undefined;
  }

  return task('CloudWatch Alarm State Change event', alarmStateChangeEvent, async (event) => {
    const { alarmName, state } = event.detail;
    if (state.value !== 'ALARM')
      return { alarm: alarmName, stopped: [] as string[], ignored: `state ${state.value}` };
    const reason = state.reason ?? 'no reason given';
    const { targets, incomplete } = await gatedTargets(deps, alarmName, reason, (r) =>
      stop(r, alarmName, reason),
    );
    const results = await Promise.allSettled(targets.map((t) => t.run()));
    const failed = results.flatMap((r, i) =>
      r.status === 'rejected' ? [{ id: targets[i]?.id, error: String(r.reason) }] : [],
    );
    if (failed.length > 0) {
      log.error('could not stop every rollout for the alarm', { alarmName, failed });
      // EventBridge retries the event; stopping is idempotent.
      throw new Error(`alarm ${alarmName}: could not stop ${failed.map((f) => f.id).join(', ')}`);
    }
    if (incomplete) throw incomplete;
    // Each target's answer: undefined when stopped, or why it was left alone (it no longer holds its service).
    const answers = results.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    const stopped = targets.filter((_, i) => answers[i] === undefined).map((t) => t.id);
    const ended = targets.flatMap((t, i) => (answers[i] ? [{ id: t.id, why: answers[i] }] : []));
    log.info('alarm handled', { alarmName, stopped, ...(ended.length > 0 ? { ended } : {}) });
    return { alarm: alarmName, stopped, ...(ended.length > 0 ? { ended } : {}) };
  });
}

interface Target {
  id: string;
  /** Undefined once stopped, or why it was left alone. */
  run: () => Promise<string | undefined>;
}

/**
 * What to stop for the alarm: the gated rollouts the store lists, each stopped through the store; when the store
 * cannot be read, the gated running executions, stopped without it. When only part of it can be read, both: the
 * rollouts listed, and the gated executions whose rollout is not among the records read (their part of the store
 * may stay unreadable through every retry of the event, and their canary must not keep serving meanwhile).
 */
async function gatedTargets(
  deps: OnAlarmDeps,
  alarmName: string,
  reason: string,
  stop: (record: RolloutRecord) => Promise<string | undefined>,
): Promise<{ targets: Target[]; incomplete?: IncompleteListError<RolloutRecord> }> {
  let listed: Awaited<ReturnType<typeof gatedRecords>>;
  try {
    listed = await gatedRecords(deps, alarmName);
  } catch (error) {
    deps.log.warn('the rollout store cannot be read; finding the gated rollouts among running executions', {
      alarmName,
      error: String(error),
    });
    const gated = await gatedExecutions(deps.executions, alarmName);
    return {
      targets: gated.map(({ name, doc }) => ({
        id: name,
        run: async () => {
          await stopWithoutStore(deps, name, doc, alarmName, reason);
          return undefined;
        },
      })),
    };
  }
  const targets: Target[] = listed.records.map((r) => ({ id: r.rolloutId, run: () => stop(r) }));
  const { incomplete } = listed;
  if (!incomplete) return { targets };
  const read = new Set(incomplete.found.map((r) => r.rolloutId));
  targets.push({
    id: 'the gated executions not listed',
    run: async () => {
      await stopUnlisted(deps, read, alarmName, reason);
      return undefined;
    },
  });
  return { targets, incomplete };
}

/**
 * The store-less stop for each gated running execution whose rollout is not among the records read (`read`, by
 * rolloutId: a record read decides for its rollout, through the store). Stopping is idempotent, so a retry of the
 * event that reads the whole store and stops the same rollout through it moves nothing further.
 */
async function stopUnlisted(deps: OnAlarmDeps, read: Set<string>, alarmName: string, reason: string) {
  const unlisted = (await gatedExecutions(deps.executions, alarmName)).filter(
    (e) => !read.has(e.doc.rolloutId),
  );
  if (unlisted.length === 0) return;
  deps.log.warn(
    'gated rollouts in the unread part of the store; stopping their executions without the store',
    {
      alarmName,
      executions: unlisted.map((e) => e.name),
    },
  );
  const results = await Promise.allSettled(
    unlisted.map(({ name, doc }) => stopWithoutStore(deps, name, doc, alarmName, reason)),
  );
  const failed = results.flatMap((r, i) =>
    r.status === 'rejected' ? [`${unlisted[i]?.name}: ${String(r.reason)}`] : [],
  );
  if (failed.length > 0) throw new TransientError(`could not stop without the store: ${failed.join('; ')}`);
}

/**
 * The live rollouts the alarm gates. When part of the store cannot be read, those the rest holds, with the error:
 * they are stopped, then the event fails, to be retried (stopping twice is harmless) until every part is read.
 */
async function gatedRecords(
  { store, log }: OnAlarmDeps,
  alarmName: string,
): Promise<{ records: RolloutRecord[]; incomplete?: IncompleteListError<RolloutRecord> }> {
  const gates = (r: RolloutRecord) => r.alarms.includes(alarmName);
  try {
    return { records: (await store.listActive()).filter(gates) };
  } catch (error) {
    if (!(error instanceof IncompleteListError)) throw error;
    log.warn(
      'part of the rollout store cannot be read; stopping the rollouts read and the unread gated executions, then failing',
      {
        alarmName,
        error: String(error),
      },
    );
    const incomplete = error as IncompleteListError<RolloutRecord>;
    return { records: incomplete.found.filter(gates), incomplete };
  }
}

/**
 * Without the store: the newest running execution of each service the alarm gates holds that service (an older
 * one still running has handed it over and is only recording its rollback). Traffic first, then the execution is
 * stopped, so no task of it can move traffic back; reconcile takes it from there. One whose PromoteFinish
 * returned is promoted: nothing to stop (the state it entered last says so).
 */
async function gatedExecutions(
  executions: OnAlarmDeps['executions'],
  alarmName: string,
): Promise<{ name: string; doc: RolloutDoc }[]> {
  const gated: { name: string; doc: RolloutDoc }[] = [];
  for (const e of (await newestRunning(executions)).values()) {
    if (!e.doc.config.analysis.alarms.includes(alarmName)) continue;
    if ((await executionProgress(executions, e.name)).phase === 'promoted') continue;
    gated.push(e);
  }
  return gated;
}

async function stopWithoutStore(
  deps: OnAlarmDeps,
  name: string,
  doc: RolloutDoc,
  alarmName: string,
  reason: string,
) {
  if (deps.deployerFor(doc.config).swapsTargetGroups) {
    // Which target group serves stable after a swap is known only to the store.
    throw new TransientError(
      `${doc.service} swaps target groups on promotion; which one serves stable is in the store, which cannot be read`,
    );
  }
  await shiftTraffic(deps, configuredRoute(doc.config), 0);
  await deps.executions.stop(name, ErrorName.AlarmFired, `alarm ${alarmName} in ALARM: ${reason}`);
}
