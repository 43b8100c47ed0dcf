/**
 * Rollout state changes on the controller's EventBridge bus (PutEvents, source `canary.controller`, detail-type
 * `Canary Rollout State Change`). PutEvents can succeed as a request and fail for some of its entries: the answer's
 * FailedEntryCount and, per entry in request order, an EventId or an ErrorCode (EventBridge User Guide, "Sending
 * events with PutEvents": detect the unsuccessful entries and send them again; API Reference, PutEventsResultEntry:
 * InternalFailure and ThrottlingException are retryable, the others are not). Entries that fail for good reject
 * the call, naming their codes, and are counted (`onUndelivered`).
 */
import {
  type EventBridgeClient,
  PutEventsCommand,
  type PutEventsCommandOutput,
  type PutEventsRequestEntry,
} from '@aws-sdk/client-eventbridge';
import { CONTROLLER_EVENT_SOURCE } from '../../core/event-source';
import {
  MAX_ENTRY_BYTES,
  putEventsEntrySize,
  type RolloutStateChange,
  STATE_CHANGE_DETAIL_TYPE,
} from '../../core/state-change';
import type { StateChangeBus } from '../../ports';
import { type AdapterOptions, AwsCaller, backoffDelay, realSleep } from './sdk';

/** PutEvents takes at most 10 entries per request (API Reference, PutEvents: Entries, 1 to 10 items). */
const MAX_ENTRIES = 10;
const RETRYABLE = new Set(['InternalFailure', 'ThrottlingException']);

class EventsNotPublishedError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'EventsNotPublished';
  }
}

export interface EventBridgeStateChangesOptions extends AdapterOptions {
  /** Called with the number of events given up on (a CloudWatch metric in the handlers). */
  onUndelivered?: (count: number) => void;
}

export class EventBridgeStateChanges implements StateChangeBus {
  private readonly aws: AwsCaller;
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(
    private readonly client: EventBridgeClient,
    private readonly busName: string,
    private readonly options: EventBridgeStateChangesOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
    this.attempts = Math.max(1, options.retry?.attempts ?? 3);
    this.sleep = options.retry?.sleep ?? realSleep;
    this.random = options.retry?.random ?? Math.random;
  }

  /** The entry for one change: its own time, so a late put keeps the time of the change. */
  entry(change: RolloutStateChange): PutEventsRequestEntry {
    return {
      EventBusName: this.busName,
      Source: CONTROLLER_EVENT_SOURCE,
      DetailType: STATE_CHANGE_DETAIL_TYPE,
      Detail: JSON.stringify(change),
      Time: new Date(change.at),
    };
  }

  async put(changes: readonly RolloutStateChange[]): Promise<void> {
    const lost: string[] = [];
    for (let i = 0; i < changes.length; i += MAX_ENTRIES) {
      lost.push(...(await this.putBatch(changes.slice(i, i + MAX_ENTRIES))));
    }
    if (lost.length > 0) {
      this.options.onUndelivered?.(lost.length);
      throw new EventsNotPublishedError(
        `${lost.length} of ${changes.length} state-change event(s) not put on ${this.busName}: ${lost.join('; ')}`,
      );
    }
  }

  /** Put up to 10 changes; returns a description of each one lost. */
  private async putBatch(changes: readonly RolloutStateChange[]): Promise<string[]> {
    const lost: string[] = [];
    let pending: { change: RolloutStateChange; entry: PutEventsRequestEntry }[] = [];
    for (const change of changes) {
      const entry = this.entry(change);
      const size = putEventsEntrySize({
        Source: entry.Source as string,
        DetailType: entry.DetailType as string,
        Detail: entry.Detail as string,
        Time: entry.Time as Date,
      });
      if (size > MAX_ENTRY_BYTES)
        lost.push(`${label(change)}: ${size} bytes, over PutEvents' ${MAX_ENTRY_BYTES}`);
      else pending.push({ change, entry });
    }
    for (let attempt = 0; pending.length > 0; attempt++) {
      let out: PutEventsCommandOutput;
      try {
        out = await this.aws.call('events:PutEvents', this.busName, () =>
          this.client.send(new PutEventsCommand({ Entries: pending.map((p) => p.entry) })),
        );
      } catch (error) {
        lost.push(
          ...pending.map((p) => `${label(p.change)}: ${(error as Error).name}: ${(error as Error).message}`),
        );
        return lost;
      }
      if (!out.FailedEntryCount) return lost;
      const retry: typeof pending = [];
      pending.forEach((p, i) => {
        const result = out.Entries?.[i];
        if (result?.EventId) return;
        const code = result?.ErrorCode ?? 'no result';
        if (RETRYABLE.has(code) && attempt + 1 < this.attempts) retry.push(p);
        else
          lost.push(`${label(p.change)}: ${code}${result?.ErrorMessage ? ` (${result.ErrorMessage})` : ''}`);
      });
      pending = retry;
      if (pending.length > 0)
        await this.sleep(backoffDelay(attempt, { baseDelayMs: 200, maxDelayMs: 3000, random: this.random }));
    }
    return lost;
  }
}

const label = (change: RolloutStateChange) => `${change.rolloutId} ${change.state}`;
