/**
 * RolloutStore over one DynamoDB table (single-table design), with conditional writes wherever two writers can
 * meet: the service lock, its hand-over to a pending rollout, the first abort reason, the current wait token.
 * The items and indexes are described in dynamodb/table.ts; each part of the store has its module in dynamodb/.
 */
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import type { AbortReason } from '../../core/errors';
import type { HistoryEntry, StoredHistoryEntry } from '../../core/history';
import type { AcceptedPush, SeenImage } from '../../core/pushes';
import type { PauseMark, RolloutDoc, RolloutRecord, ServiceLock, WaitToken } from '../../core/rollout';
import type {
  AbortMark,
  AnalysisStore,
  DecisionStore,
  HistoryPage,
  HistoryStore,
  JudgedPeriodsStore,
  NotifyStore,
  RolloutStore,
  StepStore,
  WaitStore,
} from '../../ports';
import * as history from './dynamodb/history';
import * as lock from './dynamodb/lock';
import * as periods from './dynamodb/periods';
import * as pushes from './dynamodb/pushes';
import * as quarantine from './dynamodb/quarantine';
import * as records from './dynamodb/records';
import { Table } from './dynamodb/table';
import * as waits from './dynamodb/waits';
import type { AdapterOptions } from './sdk';

export { DOCUMENT_OPTIONS } from './dynamodb/options';
export { ACTIVE_INDEX, BY_SERVICE_INDEX, ROLLOUT_TABLE_SCHEMA } from './dynamodb/table';

export class DynamoRolloutStore implements RolloutStore {
  private readonly table: Table;

  constructor(doc: DynamoDBDocumentClient, tableName: string, options: AdapterOptions = {}) {
    this.table = new Table(doc, tableName, options);
  }

  acquireLock(service: string, rolloutId: string, at: Date, doc?: RolloutDoc): Promise<void> {
    return lock.acquireLock(this.table, service, rolloutId, at, doc);
  }
  getLock(service: string): Promise<ServiceLock | undefined> {
    return lock.getLock(this.table, service);
  }
  setPending(service: string, holder: string, pending: RolloutDoc): Promise<RolloutDoc | undefined> {
    return lock.setPending(this.table, service, holder, pending);
  }
  releaseLock(service: string, rolloutId: string, at: Date): Promise<RolloutDoc | undefined> {
    return lock.releaseLock(this.table, service, rolloutId, at);
  }

  renewLock(service: string, rolloutId: string, at: Date): Promise<boolean> {
    return lock.renewLock(this.table, service, rolloutId, at);
  }

  releaseStaleLock(service: string, holder: string, acquiredAt: string): Promise<boolean> {
    return lock.releaseStaleLock(this.table, service, holder, acquiredAt);
  }

  getNewestPush(service: string): Promise<AcceptedPush | undefined> {
    return pushes.getNewestPush(this.table, service);
  }
  setNewestPush(service: string, push: AcceptedPush, expected: string | undefined): Promise<boolean> {
    return pushes.setNewestPush(this.table, service, push, expected);
  }
  getImage(service: string, digest: string): Promise<SeenImage | undefined> {
    return pushes.getImage(this.table, service, digest);
  }
  markImage(service: string, image: SeenImage, expected: string | undefined): Promise<boolean> {
    return pushes.markImage(this.table, service, image, expected);
  }

  putRollout(record: RolloutRecord, options: { ifAbsent?: boolean } = {}): Promise<boolean> {
    return records.putRollout(this.table, record, options.ifAbsent);
  }
  getRollout(rolloutId: string): Promise<RolloutRecord | undefined> {
    return records.getRollout(this.table, rolloutId);
  }
  updateRollout(
    rolloutId: string,
    patch: Partial<Omit<RolloutRecord, 'rolloutId' | 'service'>>,
  ): Promise<RolloutRecord> {
    return records.updateRollout(this.table, rolloutId, patch);
  }
  setPause(
    rolloutId: string,
    paused: PauseMark | undefined,
    expected: 'none' | 'operator',
    at: string,
  ): Promise<RolloutRecord | undefined> {
    return records.setPause(this.table, rolloutId, paused, expected, at);
  }
  listActive(): Promise<RolloutRecord[]> {
    return records.listActive(this.table);
  }
  listByService(service: string, limit: number): Promise<RolloutRecord[]> {
    return records.listByService(this.table, service, limit);
  }

  setWait(rolloutId: string, wait: WaitToken): Promise<boolean> {
    return waits.setWait(this.table, rolloutId, wait);
  }
  clearWait(rolloutId: string, token: string): Promise<void> {
    return waits.clearWait(this.table, rolloutId, token);
  }
  markAborted(rolloutId: string, reason: AbortReason, message: string, at: Date): Promise<AbortMark> {
    return waits.markAborted(this.table, rolloutId, reason, message, at);
  }

  appendHistory(rolloutId: string, entry: HistoryEntry): Promise<void> {
    return history.appendHistory(this.table, rolloutId, entry);
  }
  history(rolloutId: string, page: HistoryPage = {}): Promise<StoredHistoryEntry[]> {
    return history.history(this.table, rolloutId, page);
  }

  quarantine(service: string, digest: string, reason: string, at: Date): Promise<void> {
    return quarantine.quarantine(this.table, service, digest, reason, at);
  }
  isQuarantined(service: string, digest: string): Promise<boolean> {
    return quarantine.isQuarantined(this.table, service, digest);
  }
  releaseQuarantine(service: string, digest: string): Promise<boolean> {
    return quarantine.releaseQuarantine(this.table, service, digest);
  }
  getServingTargetGroup(service: string): Promise<string | undefined> {
    return quarantine.getServingTargetGroup(this.table, service);
  }
  setServingTargetGroup(service: string, targetGroupArn: string): Promise<void> {
    return quarantine.setServingTargetGroup(this.table, service, targetGroupArn);
  }
}

/** Reading a record and appending history, bound to the table: the part every partial store below shares. */
function historyParts(table: Table): HistoryStore {
  return {
    getRollout: (rolloutId) => records.getRollout(table, rolloutId),
    appendHistory: (rolloutId, entry) => history.appendHistory(table, rolloutId, entry),
  };
}

/**
 * The store of notify: its record (read, and the pause incidents PagerDuty has not resolved kept on it) and
 * history, only those parts, so its bundle leaves out the lock, the waits, the pushes and the quarantine
 * (DynamoRolloutStore brings every part).
 */
export function dynamoNotifyStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): NotifyStore {
  const table = new Table(doc, tableName, options);
  return {
    ...historyParts(table),
    updateRollout: (rolloutId, patch) => records.updateRollout(table, rolloutId, patch),
  };
}

/** The store of a task that holds a wait (request-approval): ownership, the wait token, history. */
export function dynamoWaitStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): WaitStore {
  const table = new Table(doc, tableName, options);
  return {
    ...historyParts(table),
    getLock: (service) => lock.getLock(table, service),
    setWait: (rolloutId, wait) => waits.setWait(table, rolloutId, wait),
  };
}

/** A step's parts: ownership, the record's updates, history, the judged periods cleared. */
function stepParts(table: Table): StepStore {
  return {
    ...historyParts(table),
    getLock: (service) => lock.getLock(table, service),
    updateRollout: (rolloutId, patch) => records.updateRollout(table, rolloutId, patch),
    clearJudgedPeriods: (rolloutId) => periods.clearJudgedPeriods(table, rolloutId),
  };
}

/**
 * The store of a task that moves a step's traffic (set-weight): ownership, the record's updates, history, the
 * judged periods cleared.
 */
export function dynamoStepStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): StepStore {
  return stepParts(new Table(doc, tableName, options));
}

/** The store of the approval page: the record and its history, the wait it ends, the pause it sets. */
export function dynamoDecisionStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): DecisionStore {
  const table = new Table(doc, tableName, options);
  return {
    ...historyParts(table),
    history: (rolloutId, page = {}) => history.history(table, rolloutId, page),
    clearWait: (rolloutId, token) => waits.clearWait(table, rolloutId, token),
    setPause: (rolloutId, paused, expected, at) => records.setPause(table, rolloutId, paused, expected, at),
  };
}

/**
 * The judged periods (dynamodb/periods.ts), analyze's alone: in the parts of analyze and set-weight below, not in
 * DynamoRolloutStore, whose every method the bundles that take it carry.
 */
function periodsParts(table: Table): JudgedPeriodsStore {
  return {
    getJudgedPeriods: (rolloutId) => periods.getJudgedPeriods(table, rolloutId),
    putJudgedPeriods: (rolloutId, judged) => periods.putJudgedPeriods(table, rolloutId, judged),
    clearJudgedPeriods: (rolloutId) => periods.clearJudgedPeriods(table, rolloutId),
  };
}

/** The judged periods over the table, beside a DynamoRolloutStore (the sandbox's benchmark, tests). */
export function dynamoJudgedPeriods(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): JudgedPeriodsStore {
  return periodsParts(new Table(doc, tableName, options));
}

/** The store of analyze: a step's parts, the wait it ends when traffic drifted, the periods it judged. */
export function dynamoAnalysisStore(
  doc: DynamoDBDocumentClient,
  tableName: string,
  options: AdapterOptions = {},
): AnalysisStore {
  const table = new Table(doc, tableName, options);
  return {
    ...stepParts(table),
    ...periodsParts(table),
    clearWait: (rolloutId, token) => waits.clearWait(table, rolloutId, token),
  };
}
