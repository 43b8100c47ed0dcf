/**
 * The controller's event bus, locally: what the tasks announce (`Canary Rollout State Change`) is recorded as
 * EventBridge delivers it to a rule's target: the envelope (version, id, detail-type, source, account, time in
 * whole seconds, region, resources) around the detail (EventBridge User Guide, "Amazon EventBridge events"). An
 * entry over PutEvents' 256 KB is refused as EventBridge refuses it ("Calculating PutEvents event entry size").
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter } from 'node:events';
import { CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { imageLabel } from '../functions/core/rollout';
import {
  MAX_ENTRY_BYTES,
  putEventsEntrySize,
  type RolloutStateChange,
  STATE_CHANGE_DETAIL_TYPE,
} from '../functions/core/state-change';
import type { StateChangeBus } from '../functions/ports';

export interface DeliveredEvent {
  version: '0';
  id: string;
  'detail-type': typeof STATE_CHANGE_DETAIL_TYPE;
  source: typeof CONTROLLER_EVENT_SOURCE;
  account: string;
  time: string;
  region: string;
  resources: string[];
  detail: RolloutStateChange;
}

export class LocalEventBus extends EventEmitter implements StateChangeBus {
  readonly events: DeliveredEvent[] = [];

  constructor(
    readonly account = '123456789012',
    readonly region = 'us-east-1',
  ) {
    super();
  }

  async put(changes: readonly RolloutStateChange[]): Promise<void> {
    for (const change of changes) {
      const detail = JSON.stringify(change);
      const size = putEventsEntrySize({
        Source: CONTROLLER_EVENT_SOURCE,
        DetailType: STATE_CHANGE_DETAIL_TYPE,
        Detail: detail,
        Time: new Date(change.at),
      });
      if (size > MAX_ENTRY_BYTES)
        throw new Error(
          `${change.rolloutId} ${change.state}: entry of ${size} bytes, over ${MAX_ENTRY_BYTES}`,
        );
      const event: DeliveredEvent = {
        version: '0',
        id: randomUUID(),
        'detail-type': STATE_CHANGE_DETAIL_TYPE,
        source: CONTROLLER_EVENT_SOURCE,
        account: this.account,
        time: `${change.at.slice(0, 19)}Z`,
        region: this.region,
        resources: [],
        detail: JSON.parse(detail) as RolloutStateChange,
      };
      this.events.push(event);
      this.emit('event', event);
    }
  }

  /** The states announced for a rollout, in order. */
  states(rolloutId: string): RolloutStateChange['state'][] {
    return this.events.filter((e) => e.detail.rolloutId === rolloutId).map((e) => e.detail.state);
  }
}

/** One line per event, as `npm start -- --events` prints them. */
export function eventLine(event: DeliveredEvent): string {
  const d = event.detail;
  const step = d.step === null ? '' : ` step ${d.step}`;
  const weight = d.weight === null ? '' : ` ${d.weight}%`;
  const verdict = d.state === 'analyzed' ? ` ${d.verdict}→${d.action}` : '';
  return `event ${event.time} ${d.service} ${imageLabel(d.image)} ${d.state}${step}${weight}${verdict}: ${d.message}`;
}
