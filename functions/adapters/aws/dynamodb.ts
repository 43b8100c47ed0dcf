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
import type { AbortMark, HistoryPage, RolloutStore } from '../../ports';
import * as history from './dynamodb/history';
import * as lock from './dynamodb/lock';
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
  setPending(service: string, holder: string, pending: RolloutDoc): Promise<void> {
    return lock.setPending(this.table, service, holder, pending);
  }
  releaseLock(service: string, rolloutId: string, at: Date): Promise<RolloutDoc | undefined> {
    return lock.releaseLock(this.table, service, rolloutId, at);
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

  putRollout(record: RolloutRecord): Promise<void> {
    return records.putRollout(this.table, record);
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
