import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { beforeEach, describe, expect, it } from 'vitest';
import { EventBridgeStateChanges } from '../../functions/adapters/aws/eventbridge';
import { stateChangeOf } from '../../functions/core/state-change';
import { mockClient } from '../contract/mock';
import { awsError, fastRetry } from './helpers';

const client = new EventBridgeClient({ region: 'us-east-1' });
const events = mockClient(client);
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const subject = {
  rolloutId: 'web-abababababababab',
  service: 'web',
  image: { repository: 'shop/web', digest: DIGEST },
};
const AT = '2026-03-14T09:26:54.000Z';
const promoted = stateChangeOf(subject, { type: 'promoted', message: 'shop/web promoted', at: AT });
const stepSet = stateChangeOf(subject, {
  type: 'weight',
  message: 'step 1: 5% on the canary',
  at: AT,
  detail: { step: 0, weight: 5 },
});

describe('EventBridgeStateChanges', () => {
  beforeEach(() => events.reset());

  it('puts each change on the bus as canary.controller / Canary Rollout State Change, at its own time', async () => {
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });

    await new EventBridgeStateChanges(client, 'canary-controller').put([promoted]);

    const [call] = events.commandCalls(PutEventsCommand);
    expect(call?.args[0].input.Entries).toEqual([
      {
        EventBusName: 'canary-controller',
        Source: 'canary.controller',
        DetailType: 'Canary Rollout State Change',
        Detail: JSON.stringify(promoted),
        Time: new Date('2026-03-14T09:26:54.000Z'),
      },
    ]);
  });

  it('sends again only the entries that failed with a retryable code, then succeeds', async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 1,
        Entries: [{ EventId: 'e-1' }, { ErrorCode: 'ThrottlingException', ErrorMessage: 'Rate exceeded' }],
      })
      .resolvesOnce({ FailedEntryCount: 0, Entries: [{ EventId: 'e-2' }] });
    const undelivered: number[] = [];

    await new EventBridgeStateChanges(client, 'canary-controller', {
      ...fastRetry(),
      onUndelivered: (n) => undelivered.push(n),
    }).put([promoted, stepSet]);

    const calls = events.commandCalls(PutEventsCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.Entries?.map((e) => e.Detail)).toEqual([JSON.stringify(stepSet)]);
    expect(undelivered).toEqual([]);
  });

  it('rejects naming each entry lost (not retryable, or still failing) and counts them', async () => {
    events
      .on(PutEventsCommand)
      .resolvesOnce({
        FailedEntryCount: 2,
        Entries: [
          { ErrorCode: 'NotAuthorizedForDetailTypeException', ErrorMessage: 'not allowed' },
          { ErrorCode: 'InternalFailure' },
        ],
      })
      .resolvesOnce({ FailedEntryCount: 1, Entries: [{ ErrorCode: 'InternalFailure' }] });
    const undelivered: number[] = [];
    const bus = new EventBridgeStateChanges(client, 'canary-controller', {
      ...fastRetry({ attempts: 2 }),
      onUndelivered: (n) => undelivered.push(n),
    });

    await expect(bus.put([promoted, stepSet])).rejects.toThrow(
      /2 of 2 state-change event\(s\) not put on canary-controller: web-abababababababab promoted: NotAuthorizedForDetailTypeException \(not allowed\); web-abababababababab stepSet: InternalFailure/,
    );
    // The refused one is not sent again; the failing one once more, then given up on.
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([2, 1]);
    expect(undelivered).toEqual([2]);
  });

  it('counts the whole request failing (after the SDK-level retries) as every entry lost', async () => {
    events.on(PutEventsCommand).rejects(awsError('AccessDeniedException', 403));
    const undelivered: number[] = [];
    const bus = new EventBridgeStateChanges(client, 'canary-controller', {
      ...fastRetry(),
      onUndelivered: (n) => undelivered.push(n),
    });
    await expect(bus.put([promoted])).rejects.toThrow(/events:PutEvents on canary-controller was denied/);
    expect(undelivered).toEqual([1]);
  });

  it('sends at most 10 entries per request, as PutEvents takes', async () => {
    events.on(PutEventsCommand).callsFake((input: { Entries: unknown[] }) => ({
      FailedEntryCount: 0,
      Entries: input.Entries.map((_, i) => ({ EventId: `e-${i}` })),
    }));
    await new EventBridgeStateChanges(client, 'canary-controller').put(
      Array.from({ length: 12 }, () => stepSet),
    );
    expect(events.commandCalls(PutEventsCommand).map((c) => c.args[0].input.Entries?.length)).toEqual([
      10, 2,
    ]);
  });
});
