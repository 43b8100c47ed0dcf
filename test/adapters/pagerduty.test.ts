import {
  GetSecretValueCommand,
  ResourceNotFoundException,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { PAGERDUTY_EVENTS_ENDPOINT, PagerDutyNotifier } from '../../functions/adapters/aws/pagerduty';
import { routingKeyFrom, SecretCache } from '../../functions/adapters/aws/secretsmanager';
import { TargetNotFoundError, TransientError } from '../../functions/core/errors';
import type { RolloutEvent } from '../../functions/ports';
import { pagerDutyTrigger } from '../../functions/views/notification';
import { mockClient } from '../contract/mock';
import { fastRetry } from './helpers';

const client = new SecretsManagerClient({ region: 'us-east-1' });
const secrets = mockClient(client);
const SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:canary/pagerduty-AbCdEf';
const KEY = 'R0ut1ngK3yF0rTh3W3bS3rv1c3000001';

const event: RolloutEvent = {
  type: 'rollout.rolledBack',
  severity: 'error',
  rolloutId: 'web-ab12ab12ab12ab12',
  service: 'web',
  image: 'team/web:v1.5.0',
  summary: 'web v1.5.0 rolled back at 10%',
  reason: 'AlarmFired: web-5xx',
  at: '2025-03-04T12:10:00.000Z',
};

const reply = (
  status: number,
  body: unknown = { status: 'success', message: 'Event processed', dedup_key: event.rolloutId },
) => new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });

function setup(responses: Array<Response | Error>, secretString = JSON.stringify({ routingKey: KEY })) {
  secrets
    .on(GetSecretValueCommand)
    .resolves({ ARN: SECRET_ARN, Name: 'canary/pagerduty', SecretString: secretString, VersionId: 'v1' });
  const fetch = vi.fn<typeof globalThis.fetch>();
  for (const r of responses) {
    if (r instanceof Error) fetch.mockRejectedValueOnce(r);
    else fetch.mockResolvedValueOnce(r);
  }
  const sleeps: number[] = [];
  const notifier = new PagerDutyNotifier({
    secret: new SecretCache(client, SECRET_ARN, { retry: fastRetry().retry }),
    fetch,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 1,
  });
  return { notifier, fetch, sleeps };
}

function expectNoKey(error: unknown) {
  expect(String(error)).not.toContain(KEY);
  expect((error as Error).stack ?? '').not.toContain(KEY);
}

describe('PagerDutyNotifier', () => {
  beforeEach(() => secrets.reset());

  it('sends core’s trigger to the Events API v2 and accepts 202', async () => {
    const { notifier, fetch } = setup([reply(202)]);

    await notifier.notify(event);

    expect(fetch).toHaveBeenCalledTimes(1);
    const [url, init] = fetch.mock.calls[0] ?? [];
    expect(url).toBe(PAGERDUTY_EVENTS_ENDPOINT);
    expect(init?.method).toBe('POST');
    expect(JSON.parse(String(init?.body))).toEqual(pagerDutyTrigger(event, KEY));
    expect(secrets.commandCalls(GetSecretValueCommand)[0]?.args[0].input).toEqual({ SecretId: SECRET_ARN });
  });

  it('does not page for severities core does not page for (and reads no secret)', async () => {
    const { notifier, fetch } = setup([]);

    await notifier.notify({ ...event, type: 'rollout.promoted', severity: 'info' });
    await notifier.notify({ ...event, type: 'rollout.refused', severity: 'warning', reason: 'quarantined' });

    expect(fetch).not.toHaveBeenCalled();
    expect(secrets.calls()).toHaveLength(0);
  });

  it('reads the secret once per cold start', async () => {
    const { notifier, fetch } = setup([reply(202), reply(202)]);

    await notifier.notify(event);
    await notifier.notify({ ...event, severity: 'critical', type: 'rollback.failed' });

    expect(fetch).toHaveBeenCalledTimes(2);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(1);
  });

  it('accepts a raw key as the secret string', async () => {
    const { notifier, fetch } = setup([reply(202)], `${KEY}\n`);

    await notifier.notify(event);

    expect(JSON.parse(String(fetch.mock.calls[0]?.[1]?.body)).routing_key).toBe(KEY);
  });

  it('retries 429, 5xx and dropped connections with backoff, then succeeds', async () => {
    const { notifier, fetch, sleeps } = setup([
      reply(429, { status: 'throttle event' }),
      reply(503, 'down'),
      new TypeError('fetch failed'),
      reply(202),
    ]);

    await notifier.notify(event);

    expect(fetch).toHaveBeenCalledTimes(4);
    expect(sleeps).toEqual([500, 1000, 2000]);
  });

  it('gives up as Transient after the attempts, without the key in the message', async () => {
    const { notifier, fetch } = setup([reply(500), reply(502), reply(503), reply(504)]);

    const error = await notifier.notify(event).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TransientError);
    expect((error as Error).message).toContain('HTTP 504');
    expect(fetch).toHaveBeenCalledTimes(4);
    expectNoKey(error);
  });

  it('does not retry a 400, says why, and redacts a key PagerDuty echoes back', async () => {
    const { notifier, fetch } = setup([
      reply(400, {
        status: 'invalid event',
        message: 'Event object is invalid',
        errors: [`Invalid routing key ${KEY}`],
      }),
    ]);

    const error = await notifier.notify(event).catch((e: unknown) => e);

    expect(fetch).toHaveBeenCalledTimes(1);
    expect((error as Error).message).toContain('HTTP 400');
    expect((error as Error).message).toContain('Event object is invalid');
    expect((error as Error).message).toContain('[redacted]');
    expect((error as Error).message).toContain(SECRET_ARN);
    expectNoKey(error);
  });

  it('a missing secret is TargetNotFound naming the secret, and the next call reads again', async () => {
    const fetch = vi.fn<typeof globalThis.fetch>().mockResolvedValue(reply(202));
    const notifier = new PagerDutyNotifier({
      secret: new SecretCache(client, SECRET_ARN, { retry: fastRetry().retry }),
      fetch,
    });
    secrets
      .on(GetSecretValueCommand)
      .rejectsOnce(
        new ResourceNotFoundException({
          message: "Secrets Manager can't find the specified secret.",
          $metadata: {},
        }),
      )
      .resolves({ SecretString: KEY });

    await expect(notifier.notify(event)).rejects.toThrow(
      new TargetNotFoundError(`secret ${SECRET_ARN} does not exist`),
    );
    await notifier.notify(event);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(secrets.commandCalls(GetSecretValueCommand)).toHaveLength(2);
  });
});

describe('PagerDutyNotifier channels', () => {
  const SERVICE_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:web/pagerduty-Zy9Xw8';
  const SERVICE_KEY = 'W3bT3amR0ut1ngK3y00000000000002';
  const OTHER_SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:api/pagerduty-Qr5St6';
  const OTHER_KEY = 'Ap1T3amR0ut1ngK3y00000000000003';
  const keys: Record<string, string> = {
    [SECRET_ARN]: KEY,
    [SERVICE_SECRET]: SERVICE_KEY,
    [OTHER_SECRET]: OTHER_KEY,
  };

  beforeEach(() => {
    secrets.reset();
    secrets.on(GetSecretValueCommand).callsFake((input: { SecretId: string }) => ({
      ARN: input.SecretId,
      Name: input.SecretId.split(':secret:')[1],
      SecretString: JSON.stringify({ routingKey: keys[input.SecretId] }),
      VersionId: 'v1',
    }));
  });

  function notifier(withDefault: boolean) {
    const fetch = vi.fn<typeof globalThis.fetch>().mockImplementation(async () => reply(202));
    const made: string[] = [];
    const cache = (arn: string) => {
      made.push(arn);
      return new SecretCache(client, arn, { retry: fastRetry().retry });
    };
    const n = new PagerDutyNotifier({
      ...(withDefault ? { secret: cache(SECRET_ARN) } : {}),
      secretFor: cache,
      fetch,
    });
    const routingKeys = () =>
      fetch.mock.calls.map((c) => (JSON.parse(String(c[1]?.body)) as { routing_key: string }).routing_key);
    const read = () => secrets.commandCalls(GetSecretValueCommand).map((c) => c.args[0].input.SecretId);
    return { notifier: n, fetch, made, routingKeys, read };
  }

  it('pages with the service’s own routing key over the default', async () => {
    const { notifier: n, routingKeys, read } = notifier(true);

    await n.notify({ ...event, channels: { pagerDutySecretArn: SERVICE_SECRET } });

    expect(routingKeys()).toEqual([SERVICE_KEY]);
    expect(read()).toEqual([SERVICE_SECRET]);
  });

  it('pages with the default key when the service names no secret', async () => {
    const { notifier: n, routingKeys, read } = notifier(true);

    await n.notify(event);
    await n.notify({ ...event, channels: { snsTopicArn: 'arn:aws:sns:us-east-1:123456789012:web' } });

    expect(routingKeys()).toEqual([KEY, KEY]);
    expect(read()).toEqual([SECRET_ARN]);
  });

  it('reads each service’s secret once per cold start, and keeps the keys apart', async () => {
    const { notifier: n, routingKeys, read, made } = notifier(true);

    for (const arn of [SERVICE_SECRET, OTHER_SECRET, SERVICE_SECRET, OTHER_SECRET, SECRET_ARN]) {
      await n.notify({ ...event, channels: { pagerDutySecretArn: arn } });
    }

    expect(routingKeys()).toEqual([SERVICE_KEY, OTHER_KEY, SERVICE_KEY, OTHER_KEY, KEY]);
    expect(read().sort()).toEqual([OTHER_SECRET, SECRET_ARN, SERVICE_SECRET].sort());
    // The default's cache serves a service that names the default secret: no second cache for it.
    expect(made.sort()).toEqual([OTHER_SECRET, SECRET_ARN, SERVICE_SECRET].sort());
  });

  it('pages with a service’s secret without any default', async () => {
    const { notifier: n, routingKeys } = notifier(false);

    await n.notify({ ...event, channels: { pagerDutySecretArn: SERVICE_SECRET } });

    expect(routingKeys()).toEqual([SERVICE_KEY]);
  });

  it('sends nothing and reads nothing when there is neither a service secret nor a default', async () => {
    const { notifier: n, fetch } = notifier(false);

    await n.notify(event);
    await n.notify({ ...event, channels: {} });

    expect(fetch).not.toHaveBeenCalled();
    expect(secrets.calls()).toHaveLength(0);
  });

  it('names the service’s secret, never a key, when PagerDuty rejects it', async () => {
    const fetch = vi
      .fn<typeof globalThis.fetch>()
      .mockResolvedValue(reply(400, { message: 'Invalid routing key' }));
    const n = new PagerDutyNotifier({
      secretFor: (arn) => new SecretCache(client, arn, { retry: fastRetry().retry }),
      fetch,
    });

    const error = await n
      .notify({ ...event, channels: { pagerDutySecretArn: SERVICE_SECRET } })
      .catch((e: unknown) => e);

    expect((error as Error).message).toContain(SERVICE_SECRET);
    expect(String(error)).not.toContain(SERVICE_KEY);
  });
});

describe('routingKeyFrom', () => {
  it('takes a raw key or JSON routingKey / routing_key, and names only the secret when it cannot', () => {
    expect(routingKeyFrom(KEY, SECRET_ARN)).toBe(KEY);
    expect(routingKeyFrom(JSON.stringify({ routing_key: KEY }), SECRET_ARN)).toBe(KEY);
    const bad = JSON.stringify({ key: KEY });
    expect(() => routingKeyFrom(bad, SECRET_ARN)).toThrow(`secret ${SECRET_ARN} has no "routingKey" field`);
    try {
      routingKeyFrom(`{"routingKey": "${KEY}"`, SECRET_ARN);
    } catch (error) {
      expectNoKey(error);
    }
    expect(() => routingKeyFrom(`{"routingKey": "${KEY}"`, SECRET_ARN)).toThrow(/does not parse/);
  });
});
