/**
 * What an operator can do to a rollout, over the ports (so the same code runs against DynamoDB + Step Functions
 * from the CLI and against a running sandbox through its control endpoint). Every operation acts on the
 * service's current rollout (the lock holder) and on its current wait, as the approval page and on-alarm do.
 */
import { ErrorName } from '../functions/core/errors';
import {
  type ImageRef,
  isDigest,
  type RolloutRecord,
  TERMINAL_STATUSES,
  type WaitToken,
} from '../functions/core/rollout';
import { freeText } from '../functions/core/text';
import type { Clock, Executions, RolloutStore, StateChangeBus, TrafficRouter } from '../functions/ports';
import {
  abortRollout,
  type Decider,
  type DecisionOutcome,
  resolveApproval,
  settleDecision,
} from '../functions/tasks/lib/procedures';
import { type MetricPoint, renderHtml, traceFromHistory } from '../functions/views/report-html';
import { pause, resume, retry, stableAtOnce } from './holds';
import {
  type DeployReceipt,
  type DeployRequest,
  OperationError,
  type OperationResult,
  PROGRESS_PAGE,
  type RequestState,
  type RolloutProgress,
  row,
  type StartResult,
  type StatusRow,
} from './results';
import { imageRef, locateRequest, startResult } from './start';

export interface OperationsDeps {
  store: RolloutStore;
  executions: Executions;
  clock: Clock;
  /** The configured services, when known (an unknown one is refused by name). */
  services?: () => Promise<string[] | undefined>;
  /** Put a Deploy Requested event (EventBridge on AWS, the start-rollout handler in the sandbox). */
  requestDeploy: (service: string, image: Omit<ImageRef, 'repository'>) => Promise<DeployReceipt>;
  /** Resolve a tag to a digest, when the backend can (the sandbox's registry); otherwise digests only. */
  resolveTag?: (service: string, tag: string) => Promise<string | undefined>;
  /** Finer metrics for the report, when recorded (the sandbox). */
  metrics?: (record: RolloutRecord) => Promise<{ canary: MetricPoint[]; stable: MetricPoint[] } | undefined>;
  /** Who acts, for the history. */
  actor?: string;
  /** The controller's bus: decisions taken here are announced as state changes, as the approval page's are. */
  events?: StateChangeBus;
  /** The listener's router, when the caller may move traffic: an abort then puts 100% on stable at once. */
  router?: TrafficRouter;
}

export class Operations {
  constructor(private readonly deps: OperationsDeps) {}

  private get actor() {
    return this.deps.actor ?? 'the CLI';
  }

  private async knownService(service: string): Promise<void> {
    const services = await this.deps.services?.();
    if (services && !services.includes(service))
      throw new OperationError(
        `unknown service "${service}" (configured: ${services.join(', ') || 'none'})`,
        'unknown-service',
      );
  }

  /** The service's current rollout: the one holding its lock. */
  private async current(service: string): Promise<RolloutRecord> {
    await this.knownService(service);
    const lock = await this.deps.store.getLock(service);
    const record = lock ? await this.deps.store.getRollout(lock.rolloutId) : undefined;
    if (!record) {
      const any = await this.deps.store.listByService(service, 1);
      if (!this.deps.services && any.length === 0)
        throw new OperationError(
          `unknown service "${service}": no rollout was ever recorded for it`,
          'unknown-service',
        );
      throw new OperationError(`${service} has no rollout in progress`, 'not-found');
    }
    return record;
  }

  /** The service's current rollout and its approval wait; refused when it is not waiting for an approval. */
  private async awaitingApproval(service: string): Promise<{ record: RolloutRecord; wait: WaitToken }> {
    const record = await this.current(service);
    const wait = record.wait;
    if (wait?.kind !== 'approval')
      throw new OperationError(
        `${record.rolloutId} is not waiting for approval (${wait ? `it is in a ${wait.kind} wait at step ${wait.step + 1}` : `status ${record.status}`})`,
        'not-waiting',
      );
    return { record, wait };
  }

  async status(service?: string): Promise<StatusRow[]> {
    if (service) {
      await this.knownService(service);
      const [latest] = await this.deps.store.listByService(service, 1);
      const lock = await this.deps.store.getLock(service);
      const current = lock ? await this.deps.store.getRollout(lock.rolloutId) : undefined;
      const record = current ?? latest;
      if (!record) {
        if (this.deps.services) return [];
        throw new OperationError(
          `unknown service "${service}": no rollout was ever recorded for it`,
          'unknown-service',
        );
      }
      return [row(record)];
    }
    return (await this.deps.store.listActive()).map(row);
  }

  async history(service: string, limit = 10): Promise<StatusRow[]> {
    await this.knownService(service);
    const records = await this.deps.store.listByService(service, limit);
    if (records.length === 0 && !this.deps.services)
      throw new OperationError(
        `unknown service "${service}": no rollout was ever recorded for it`,
        'unknown-service',
      );
    return records.map(row);
  }

  async approve(service: string, reason?: string): Promise<OperationResult> {
    return this.decideApproval(service, true, (step) => {
      const note = freeText(reason ?? '');
      return `step ${step} approved from ${this.actor}${note ? `: ${note}` : ''}`;
    });
  }

  async reject(service: string, reason?: string): Promise<OperationResult> {
    return this.decideApproval(
      service,
      false,
      (step) =>
        `step ${step} rejected from ${this.actor}: ${freeText(reason ?? '') || 'rejected by an operator'}`,
    );
  }

  /** Approve or reject the service's approval wait (lib/approval.ts resolveApproval), `message` naming the step. */
  private async decideApproval(
    service: string,
    approve: boolean,
    message: (step: number) => string,
  ): Promise<OperationResult> {
    const { record, wait } = await this.awaitingApproval(service);
    const said = message(wait.step + 1);
    const decision = { approve, message: said };
    const outcome = await resolveApproval(this.decisionDeps, record, wait, decision, this.decider);
    const lag = this.decisionLag(record, wait, outcome);
    return {
      ok: true,
      rolloutId: record.rolloutId,
      message: `${record.rolloutId}: ${said}${approve ? '' : '; it rolls back'}${lag}`,
    };
  }

  /**
   * Roll back now: the record is marked aborted (the next task's checkpoint fails with Aborted) and the current
   * wait, if any, is failed with Aborted, so the workflow takes its Rollback path at once. Once the abort is
   * recorded it stands: a wait that cannot be interrupted only delays it to the rollout's next task. When the
   * caller may move traffic (a router), 100% goes on stable at once, before the workflow's rollback. A paused
   * rollout (by a person, or on a failed analysis) is aborted the same way.
   */
  async abort(service: string, reason?: string): Promise<OperationResult> {
    const record = await this.current(service);
    const message = `aborted from ${this.actor}: ${freeText(reason ?? '') || 'aborted by an operator'}`;
    const traffic = stableAtOnce(this.deps.router, this.deps, record);
    const outcome = await abortRollout(this.decisionDeps, record, {
      reason: ErrorName.Aborted,
      message,
      entry: { type: 'aborted', detail: { via: 'cli', by: this.actor } },
      writes: 'settle',
      yieldToEarlier: true,
      ...(traffic.putStableBack ? { putStableBack: traffic.putStableBack } : {}),
    });
    if (outcome.status === 'notHolding')
      throw new OperationError(`${outcome.why}: no traffic was moved, nothing was aborted`, 'not-found');
    const { marked } = outcome;
    if (outcome.status === 'alreadyStopping')
      return {
        ok: true,
        rolloutId: record.rolloutId,
        message: `${record.rolloutId} was already stopping (${marked.abort?.reason}: ${marked.abort?.message})`,
      };
    const late = outcome.waitInterrupted
      ? ''
      : `; its ${marked.wait?.kind} wait could not be interrupted, so it rolls back at its next task`;
    return {
      ok: true,
      rolloutId: record.rolloutId,
      message: `${record.rolloutId}: ${message}; it rolls back to stable${traffic.said()}${late}${
        outcome.historyWritten ? '' : '; the history may show it late'
      }`,
    };
  }

  /** Hold the canary's share where it is (cli/holds.ts): analyses go on and can still roll back. */
  async pause(service: string, reason?: string): Promise<OperationResult> {
    return pause(this.decisionDeps, await this.current(service), this.decider, reason);
  }

  /** Let the plan go on from where it was held. */
  async resume(service: string): Promise<OperationResult> {
    return resume(this.decisionDeps, await this.current(service), this.decider);
  }

  /** Run the step that failed again, after a pause on failure (analysis.onFailure 'pause'). */
  async retry(service: string): Promise<OperationResult> {
    return retry(this.decisionDeps, await this.current(service), this.decider);
  }

  /**
   * End the current bake now: the workflow analyzes at once (and advances if the evidence is enough). With
   * `full`, skip to the last step (100%), which is still judged; from a bake or from an approval wait.
   */
  async promote(service: string, options: { full?: boolean } = {}): Promise<OperationResult> {
    const record = await this.current(service);
    const wait = record.wait;
    const allowed = options.full ? wait?.kind === 'bake' || wait?.kind === 'approval' : wait?.kind === 'bake';
    if (!wait || !allowed)
      throw new OperationError(
        `${record.rolloutId} is not baking (${wait ? `it waits for ${wait.kind} at step ${wait.step + 1}: use \`canary approve ${service}\` or \`canary promote ${service} --full\`` : `status ${record.status}`})`,
        'not-waiting',
      );
    const output = options.full
      ? { skipToFull: true, approved: true, by: 'cli' }
      : { promoted: true, by: 'cli' };
    const sent = await this.deps.executions.sendTaskSuccess(wait.token, output);
    const message = options.full
      ? `skipped from step ${wait.step + 1} to 100% from ${this.actor}`
      : `bake of step ${wait.step + 1} ended early from ${this.actor}`;
    const outcome = await settleDecision(
      this.decisionDeps,
      record,
      wait,
      sent,
      { type: options.full ? 'promoted-full' : 'promoted-early', message },
      this.decider,
    );
    const lag = this.decisionLag(record, wait, outcome);
    return {
      ok: true,
      rolloutId: record.rolloutId,
      message: `${record.rolloutId}: ${message}; ${options.full ? 'the last step is judged at 100%' : 'the step is analyzed now'}${lag}`,
    };
  }

  async start(service: string, image: string): Promise<StartResult> {
    await this.knownService(service);
    const ref = await imageRef(service, image, this.deps.resolveTag);
    return startResult(service, ref, await this.deps.requestDeploy(service, ref));
  }

  /** Where a `canary start` request stands (start.ts). */
  async locate(request: DeployRequest): Promise<RequestState> {
    return locateRequest(this.deps.store, request);
  }

  /** The rollout's row and its history entries at or after `since` (at most PROGRESS_PAGE). */
  async progress(rolloutId: string, since?: string): Promise<RolloutProgress> {
    const record = await this.deps.store.getRollout(rolloutId);
    if (!record) throw new OperationError(`no rollout ${rolloutId}`, 'not-found');
    const entries = await this.deps.store.history(rolloutId, {
      ...(since ? { since } : {}),
      limit: PROGRESS_PAGE,
    });
    const ended = TERMINAL_STATUSES.has(record.status);
    return {
      rollout: row(record),
      entries,
      ...(ended ? { result: record.status as RolloutProgress['result'] & string } : {}),
    };
  }

  async release(service: string, digest: string): Promise<OperationResult> {
    await this.knownService(service);
    if (!isDigest(digest))
      throw new OperationError(`"${digest}" is not an image digest (sha256:<64 hex>)`, 'refused');
    const released = await this.deps.store.releaseQuarantine(service, digest);
    if (!released) throw new OperationError(`${digest} is not quarantined for ${service}`, 'not-found');
    return { ok: true, message: `${digest} released for ${service}: it can be rolled out again` };
  }

  async report(rolloutId: string): Promise<{ html: string; record: RolloutRecord }> {
    const record = await this.deps.store.getRollout(rolloutId);
    if (!record) throw new OperationError(`no rollout ${rolloutId}`, 'not-found');
    const history = await this.deps.store.history(rolloutId);
    const metrics = await this.deps.metrics?.(record);
    const trace = traceFromHistory(record, history, metrics, this.deps.clock.now());
    return { html: renderHtml([trace], `Rollout ${rolloutId} — ${record.service}`), record };
  }

  /**
   * What a settled decision adds to the answer (lib/approval.ts): a wait Step Functions no longer held is refused;
   * a decision it took stands, and store writes that still failed are reported as lagging.
   */
  private decisionLag(record: RolloutRecord, wait: WaitToken, outcome: DecisionOutcome): string {
    if (!outcome.sent)
      throw new OperationError(
        `the ${wait.kind} wait of ${record.rolloutId} had already ended`,
        'not-waiting',
      );
    return outcome.lagging.length > 0
      ? ` (the decision is taken, but the record of the rollout may show it late: the store could not be updated; do not decide again)`
      : '';
  }

  private get decider(): Decider {
    return { via: 'cli', by: this.actor };
  }

  private get decisionDeps() {
    return { ...this.historyDeps, executions: this.deps.executions };
  }

  /** Where the CLI's history entries go, each announced as a state-change event (which never fails the operation). */
  private get historyDeps() {
    return { store: this.deps.store, clock: this.deps.clock, events: this.deps.events };
  }
}
