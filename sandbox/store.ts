import { EventEmitter } from 'node:events';
import { AwsCaller } from '../functions/adapters/aws/sdk';
import { type AbortReason, LockHeldError } from '../functions/core/errors';
import { type HistoryEntry, readHistoryEntry, type StoredHistoryEntry } from '../functions/core/history';
import type { JudgedPeriods } from '../functions/core/late-metrics';
import { type AcceptedPush, newerOnLock, type SeenImage } from '../functions/core/pushes';
import {
  holdsService,
  type PauseMark,
  type RolloutDoc,
  type RolloutRecord,
  replacesWait,
  type ServiceLock,
  TERMINAL_STATUSES,
  type WaitToken,
} from '../functions/core/rollout';
import { unstorablePaths } from '../functions/core/stats/storable';
import type { AbortMark, HistoryPage, JudgedPeriodsStore, RolloutStore } from '../functions/ports';

/** Every part of the store the tasks take: the rollout store and analyze's judged periods. */
export type WorldStore = RolloutStore & JudgedPeriodsStore;

const clone = <T>(value: T): T => structuredClone(value);

/**
 * A copy of what a write stores, refused (as DynamoDB refuses the write, or JSON changes the number) when it holds a
 * number outside DynamoDB's Number range or not finite: this store never marshals, so it checks what the table would.
 */
function storable<T>(value: T, what: string): T {
  const bad = unstorablePaths(value);
  if (bad.length > 0)
    throw new Error(`${what}: not storable as a DynamoDB number: ${bad.slice(0, 5).join(', ')}`);
  return clone(value);
}

/**
 * The rollout store in memory, with the same conditional semantics as the DynamoDB adapter (a lock is taken by
 * one rollout only; the first abort reason wins; a wait never replaces a later one and is cleared only by its
 * own token). Every read returns a
 * copy, so a task cannot change state without writing it. Emits `history` for the sandbox's progress output.
 */
export class InMemoryRolloutStore extends EventEmitter implements WorldStore {
  private readonly locks = new Map<string, ServiceLock>();
  private readonly rollouts = new Map<string, RolloutRecord>();
  /** The judged periods, apart from the records as the table keeps them (an item of their own). */
  private readonly periods = new Map<string, JudgedPeriods>();
  private readonly histories = new Map<string, HistoryEntry[]>();
  private readonly quarantined = new Map<string, string>();
  private readonly serving = new Map<string, string>();
  private readonly newest = new Map<string, AcceptedPush>();
  private readonly images = new Map<string, SeenImage>();

  async acquireLock(service: string, rolloutId: string, at: Date, doc?: RolloutDoc): Promise<void> {
    const held = this.locks.get(service);
    if (held?.rolloutId === rolloutId) return; // ours already (a retried start)
    if (held) throw new LockHeldError(service, held.rolloutId);
    this.locks.set(service, {
      service,
      rolloutId,
      acquiredAt: at.toISOString(),
      ...(doc ? { doc: clone(doc) } : {}),
    });
  }

  async getLock(service: string): Promise<ServiceLock | undefined> {
    return clone(this.locks.get(service));
  }

  async setPending(service: string, holder: string, pending: RolloutDoc): Promise<RolloutDoc | undefined> {
    const lock = this.locks.get(service);
    if (!lock || lock.rolloutId !== holder) throw new LockHeldError(service, lock?.rolloutId ?? '(nobody)');
    const newer = newerOnLock(lock, pending);
    if (newer) return clone(newer);
    lock.pending = clone(pending);
    return undefined;
  }

  async releaseLock(service: string, rolloutId: string, at: Date): Promise<RolloutDoc | undefined> {
    const lock = this.locks.get(service);
    if (!lock || lock.rolloutId !== rolloutId) return undefined;
    if (lock.pending) {
      const next = lock.pending;
      this.locks.set(service, {
        service,
        rolloutId: next.rolloutId,
        acquiredAt: at.toISOString(),
        doc: clone(next),
        handedOverBy: rolloutId,
      });
      return clone(next);
    }
    this.locks.delete(service);
    return undefined;
  }

  async renewLock(service: string, rolloutId: string, at: Date): Promise<boolean> {
    const lock = this.locks.get(service);
    if (lock?.rolloutId !== rolloutId) return false;
    lock.acquiredAt = at.toISOString();
    return true;
  }

  async releaseStaleLock(service: string, holder: string, acquiredAt: string): Promise<boolean> {
    const lock = this.locks.get(service);
    if (lock?.rolloutId !== holder || lock.acquiredAt !== acquiredAt) return false;
    this.locks.delete(service);
    return true;
  }

  async getNewestPush(service: string): Promise<AcceptedPush | undefined> {
    return clone(this.newest.get(service));
  }

  async setNewestPush(service: string, push: AcceptedPush, expected: string | undefined): Promise<boolean> {
    if (this.newest.get(service)?.eventId !== expected) return false;
    this.newest.set(service, clone(push));
    return true;
  }

  async getImage(service: string, digest: string): Promise<SeenImage | undefined> {
    return clone(this.images.get(`${service}|${digest}`));
  }

  async markImage(service: string, image: SeenImage, expected: string | undefined): Promise<boolean> {
    const key = `${service}|${image.digest}`;
    if (this.images.get(key)?.eventId !== expected) return false;
    this.images.set(key, clone(image));
    return true;
  }

  async putRollout(record: RolloutRecord, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    if (options.ifAbsent && this.rollouts.has(record.rolloutId)) return false;
    this.rollouts.set(record.rolloutId, storable(record, 'rollout record'));
    return true;
  }

  async getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    return clone(this.rollouts.get(rolloutId));
  }

  async updateRollout(
    rolloutId: string,
    patch: Partial<Omit<RolloutRecord, 'rolloutId' | 'service'>>,
  ): Promise<RolloutRecord> {
    const record = this.rollouts.get(rolloutId);
    if (!record) throw new Error(`no rollout ${rolloutId}`);
    Object.assign(record, storable(patch, 'rollout record'));
    return clone(record);
  }

  async setPause(
    rolloutId: string,
    paused: PauseMark | undefined,
    expected: 'none' | 'operator',
    at: string,
  ): Promise<RolloutRecord | undefined> {
    const record = this.rollouts.get(rolloutId);
    if (!record) return undefined;
    const holds = expected === 'none' ? !record.paused : record.paused?.cause === 'operator';
    if (!holds) return undefined;
    return this.updateRollout(rolloutId, { paused, updatedAt: at });
  }

  async getJudgedPeriods(rolloutId: string): Promise<JudgedPeriods | undefined> {
    return clone(this.periods.get(rolloutId));
  }

  async putJudgedPeriods(rolloutId: string, periods: JudgedPeriods): Promise<void> {
    this.periods.set(rolloutId, storable(periods, 'judged periods'));
  }

  async clearJudgedPeriods(rolloutId: string): Promise<void> {
    this.periods.delete(rolloutId);
  }

  async listActive(): Promise<RolloutRecord[]> {
    return [...this.rollouts.values()].filter((r) => !TERMINAL_STATUSES.has(r.status)).map(clone);
  }

  async listByService(service: string, limit: number): Promise<RolloutRecord[]> {
    return [...this.rollouts.values()]
      .filter((r) => r.service === service)
      .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
      .slice(0, limit)
      .map(clone);
  }

  async setWait(rolloutId: string, wait: WaitToken): Promise<boolean> {
    const record = this.rollouts.get(rolloutId);
    if (!record) throw new Error(`no rollout ${rolloutId}`);
    if (!replacesWait(record.wait, wait) || !replacesWait(record.waitOrder, wait)) return false;
    record.wait = clone(wait);
    if (wait.seq !== undefined) record.waitOrder = { seq: wait.seq, since: wait.since };
    return true;
  }

  async clearWait(rolloutId: string, token: string): Promise<void> {
    const record = this.rollouts.get(rolloutId);
    if (record?.wait?.token === token) delete record.wait;
  }

  async markAborted(rolloutId: string, reason: AbortReason, message: string, at: Date): Promise<AbortMark> {
    // As the DynamoDB adapter: written only while the rollout is live and the service's lock is its own.
    const record = this.rollouts.get(rolloutId);
    const holder = record ? this.locks.get(record.service)?.rolloutId : undefined;
    if (!record || !holdsService(record, holder)) return { holds: false, record: clone(record), holder };
    record.abort ??= { reason, message, at: at.toISOString() };
    return { holds: true, record: clone(record) };
  }

  async appendHistory(rolloutId: string, entry: HistoryEntry): Promise<void> {
    const list = this.histories.get(rolloutId) ?? [];
    list.push(storable(entry, 'history entry'));
    this.histories.set(rolloutId, list);
    this.emit('history', rolloutId, clone(entry));
  }

  async history(rolloutId: string, page: HistoryPage = {}): Promise<StoredHistoryEntry[]> {
    // In time order, as the table's sort key keeps them (the order written for entries of one instant).
    const entries = (this.histories.get(rolloutId) ?? [])
      .map((entry, i) => ({ entry, i }))
      .sort((a, b) => (a.entry.at < b.entry.at ? -1 : a.entry.at > b.entry.at ? 1 : a.i - b.i))
      .map(({ entry }) => entry)
      .filter((entry) => page.since === undefined || entry.at >= page.since);
    // Read as the table's entries are: one no kind fits (only a test can put it here) comes back unrecognized.
    return clone(entries.slice(0, page.limit ?? entries.length)).map(readHistoryEntry);
  }

  async quarantine(service: string, digest: string, reason: string): Promise<void> {
    this.quarantined.set(`${service}|${digest}`, reason);
  }

  async isQuarantined(service: string, digest: string): Promise<boolean> {
    return this.quarantined.has(`${service}|${digest}`);
  }

  async releaseQuarantine(service: string, digest: string): Promise<boolean> {
    return this.quarantined.delete(`${service}|${digest}`);
  }

  async getServingTargetGroup(service: string): Promise<string | undefined> {
    return this.serving.get(service);
  }

  async setServingTargetGroup(service: string, targetGroupArn: string): Promise<void> {
    this.serving.set(service, targetGroupArn);
  }

  /** For invariant checks: every lock currently held. */
  heldLocks(): ServiceLock[] {
    return [...this.locks.values()].map(clone);
  }
}

/**
 * DynamoDB errors a table returns while it is throttled or unavailable (DynamoDB developer guide, "Error handling
 * with DynamoDB": ProvisionedThroughputExceededException and ThrottlingException are 400s the SDKs retry;
 * InternalServerError is a 500 and ServiceUnavailable a 503).
 */
const STORE_OUTAGE_ERRORS = {
  ProvisionedThroughputExceededException: { status: 400, fault: 'client' },
  ThrottlingException: { status: 400, fault: 'client' },
  InternalServerError: { status: 500, fault: 'server' },
  ServiceUnavailable: { status: 503, fault: 'server' },
} as const;
export type StoreOutageError = keyof typeof STORE_OUTAGE_ERRORS;

/**
 * A switch that makes every call of the store fail, as the DynamoDB adapter surfaces an SDK error that outlasted its
 * retries: the SDK's error (name, $fault, $metadata.httpStatusCode) mapped by the adapters' AwsCaller, so a task
 * sees exactly what it would see on AWS (`Transient`, naming the SDK error).
 */
export class StoreOutage {
  private error: StoreOutageError | undefined;
  /** Calls refused while the outage lasted. */
  refused = 0;

  begin(error: StoreOutageError = 'ProvisionedThroughputExceededException'): void {
    this.error = error;
  }

  end(): void {
    this.error = undefined;
  }

  get active(): boolean {
    return this.error !== undefined;
  }

  /** Throws what the adapter would throw for `action` while the outage lasts. */
  async check(action: string): Promise<void> {
    const name = this.error;
    if (!name) return;
    this.refused++;
    const { status, fault } = STORE_OUTAGE_ERRORS[name];
    const sdkError = Object.assign(new Error(`${name} (simulated outage of the rollout table)`), {
      name,
      $fault: fault,
      $metadata: { httpStatusCode: status },
    });
    await new AwsCaller({ attempts: 1 }).call(`dynamodb:${action}`, 'the rollout table', () =>
      Promise.reject(sdkError),
    );
  }
}

/** The store as the tasks see it: every port call goes through the outage switch first. */
export function storeWithOutage(store: WorldStore, outage: StoreOutage): WorldStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      const action = typeof property === 'string' ? STORE_METHODS.get(property) : undefined;
      if (typeof value !== 'function' || !action) return value;
      return async (...args: unknown[]) => {
        await outage.check(action);
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      };
    },
  });
}

/** The RolloutStore port's methods (what the tasks may call), with the DynamoDB action each one sends. */
const STORE_METHODS = new Map<string, string>(
  Object.entries({
    acquireLock: 'PutItem',
    getLock: 'GetItem',
    setPending: 'UpdateItem',
    releaseLock: 'DeleteItem',
    renewLock: 'UpdateItem',
    releaseStaleLock: 'DeleteItem',
    getNewestPush: 'GetItem',
    setNewestPush: 'PutItem',
    getImage: 'GetItem',
    markImage: 'PutItem',
    putRollout: 'PutItem',
    getRollout: 'GetItem',
    updateRollout: 'UpdateItem',
    listActive: 'Query',
    listByService: 'Query',
    setWait: 'UpdateItem',
    clearWait: 'UpdateItem',
    markAborted: 'UpdateItem',
    setPause: 'UpdateItem',
    getJudgedPeriods: 'GetItem',
    putJudgedPeriods: 'PutItem',
    clearJudgedPeriods: 'DeleteItem',
    appendHistory: 'PutItem',
    history: 'Query',
    quarantine: 'PutItem',
    isQuarantined: 'GetItem',
    releaseQuarantine: 'DeleteItem',
    getServingTargetGroup: 'GetItem',
    setServingTargetGroup: 'PutItem',
  } satisfies Record<keyof WorldStore, string>),
);
