import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SendTaskSuccessCommand, SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient, GetCommand, PutCommand, UpdateCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { main } from '../../cli/main';
import { demoService } from '../../sandbox/demo';
import { mockClient } from '../contract/mock';
import { validServiceConfig } from '../helpers/config';
import { startWorld } from '../helpers/world';

const DIGEST = `sha256:${'ab'.repeat(32)}`;

function io(env: NodeJS.ProcessEnv = {}) {
  const out: string[] = [];
  const err: string[] = [];
  const cwd = mkdtempSync(join(tmpdir(), 'canary-cli-'));
  return {
    io: { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env, cwd },
    out: () => out.join(''),
    err: () => err.join(''),
    cwd,
  };
}

describe('canary CLI: usage', () => {
  it.each([
    [[], 'missing command'],
    [['frobnicate'], 'unknown command "frobnicate"'],
    [['approve'], 'approve: missing <service>'],
    [['release', 'web'], 'release: missing <digest>'],
    [['start', 'web'], 'start: missing --image'],
    [['status', 'web', 'extra'], 'unexpected argument "extra"'],
    [['approve', 'web', '--bogus'], "Unknown option '--bogus'"],
    [['status', '--full'], '--full does not apply to status'],
    [['history', 'web', '--limit', 'x'], '--limit must be'],
  ])('%j exits 2 with a clear message', async (argv, message) => {
    const t = io();
    expect(await main(argv, t.io)).toBe(2);
    expect(t.err()).toContain(message);
    expect(t.out()).toBe('');
  });

  it('--help prints the commands and exits 0', async () => {
    const t = io();
    expect(await main(['--help'], t.io)).toBe(0);
    for (const c of [
      'status',
      'history',
      'approve',
      'reject',
      'abort',
      'promote',
      'start',
      'release',
      'report',
    ])
      expect(t.out()).toContain(`  ${c} `);
  });

  it('AWS mode without its settings fails with exit 1 naming the variable', async () => {
    const t = io({});
    expect(await main(['status'], t.io)).toBe(1);
    expect(t.err()).toContain('TABLE_NAME is not set');
  });

  it('--sandbox without a running sandbox says so (exit 1)', async () => {
    const t = io({});
    expect(await main(['status', '--sandbox'], t.io)).toBe(1);
    expect(t.err()).toContain('no running sandbox');
  });
});

describe('canary CLI against a running sandbox', () => {
  it('status, approve, --json, history, report and clear errors', async () => {
    const world = await startWorld({
      services: [
        demoService({
          steps: [
            { weight: 25, bakeSeconds: 60, approval: true },
            { weight: 100, bakeSeconds: 60 },
          ],
          approvals: { timeoutSeconds: 86_400 },
        }),
      ],
    });
    const dir = mkdtempSync(join(tmpdir(), 'canary-sandbox-'));
    const file = join(dir, 'sandbox.json');
    writeFileSync(file, JSON.stringify({ url: world.control.url, token: world.control.token }));
    const env = { CANARY_SANDBOX_FILE: file };

    const started = await world.push('v2');
    if (started.status !== 'started') throw new Error(JSON.stringify(started));
    await world.waitForWait(started.rolloutId, 'approval');

    let t = io(env);
    expect(await main(['status', '--sandbox'], t.io)).toBe(0);
    expect(t.out()).toMatch(/SERVICE\s+ROLLOUT/);
    expect(t.out()).toMatch(/web\s+web-[0-9a-f]{16}\s+shop\/web:v2\s+running\s+1\s+25%\s+approval/);

    t = io(env);
    expect(await main(['status', 'web', '--sandbox', '--json'], t.io)).toBe(0);
    expect(JSON.parse(t.out())).toEqual([
      expect.objectContaining({
        service: 'web',
        rolloutId: started.rolloutId,
        waiting: 'approval',
        canaryPercent: 25,
      }),
    ]);

    t = io(env);
    expect(await main(['approve', 'nope', '--sandbox'], t.io)).toBe(1);
    expect(t.err()).toContain('unknown service "nope"');

    t = io(env);
    expect(await main(['promote', 'web', '--sandbox'], t.io)).toBe(1);
    expect(t.err()).toContain('is not baking');

    t = io(env);
    expect(await main(['approve', 'web', '--sandbox', '--json'], t.io)).toBe(0);
    expect(JSON.parse(t.out())).toMatchObject({ ok: true, rolloutId: started.rolloutId });
    expect((await world.waitFor(started.rolloutId)).status).toBe('SUCCEEDED');

    t = io(env);
    expect(await main(['approve', 'web', '--sandbox'], t.io)).toBe(1);
    expect(t.err()).toContain('no rollout in progress');

    t = io(env);
    expect(await main(['history', 'web', '--sandbox'], t.io)).toBe(0);
    expect(t.out()).toContain('promoted');

    t = io(env);
    expect(await main(['report', started.rolloutId, '--sandbox', '--out', 'r.html'], t.io)).toBe(0);
    const html = readFileSync(join(t.cwd, 'r.html'), 'utf8');
    expect(html).toContain('<svg');
    expect(html).toContain('approved from the sandbox CLI');
    expect(html).not.toMatch(/<script|https?:\/\/(?!www\.w3\.org)/);
  });
});

describe('canary CLI against AWS (mocked SDK)', () => {
  const env = {
    TABLE_NAME: 'canary',
    STATE_MACHINE_ARN: 'arn:aws:states:us-east-1:123456789012:stateMachine:canary',
    EVENT_BUS_NAME: 'ops',
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'secret',
  };

  it('approve: sends task success for the current approval wait and clears it', async () => {
    const ddb = mockClient(DynamoDBDocumentClient);
    const sfn = mockClient(SFNClient);
    ddb.on(GetCommand, { Key: { pk: 'SERVICE#web', sk: 'LOCK' } }).resolves({
      Item: {
        pk: 'SERVICE#web',
        sk: 'LOCK',
        service: 'web',
        rolloutId: 'web-0123456789abcdef',
        acquiredAt: '2026-01-01T00:00:00Z',
      },
    });
    ddb.on(GetCommand, { Key: { pk: 'ROLLOUT#web-0123456789abcdef', sk: 'RECORD' } }).resolves({
      Item: {
        pk: 'ROLLOUT#web-0123456789abcdef',
        sk: 'RECORD',
        rolloutId: 'web-0123456789abcdef',
        service: 'web',
        image: { repository: 'shop/web', digest: DIGEST, tag: 'v2' },
        status: 'running',
        alarms: [],
        createdAt: '2026-01-01T00:00:00Z',
        updatedAt: '2026-01-01T00:00:00Z',
        wait: { token: 'TASK-TOKEN', kind: 'approval', step: 1, since: '2026-01-01T00:00:00Z' },
      },
    });
    ddb.on(UpdateCommand).resolves({});
    ddb.on(PutCommand).resolves({});
    sfn.on(SendTaskSuccessCommand).resolves({});
    const t = io(env);
    expect(await main(['approve', 'web', '--json'], t.io)).toBe(0);
    expect(JSON.parse(t.out())).toMatchObject({ ok: true, rolloutId: 'web-0123456789abcdef' });
    expect(sfn.commandCalls(SendTaskSuccessCommand)[0]?.args[0].input).toMatchObject({
      taskToken: 'TASK-TOKEN',
    });
    expect(ddb.commandCalls(UpdateCommand)[0]?.args[0].input).toMatchObject({
      UpdateExpression: 'REMOVE #wait',
    });
    expect(t.out()).not.toContain('TASK-TOKEN');
    ddb.restore();
    sfn.restore();
  });

  it('start: puts a Deploy Requested event on the bus; a tag is resolved to its digest in ECR', async () => {
    const eb = mockClient(EventBridgeClient);
    eb.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'evt-1' }] });
    let t = io(env);
    expect(await main(['start', 'web', '--image', `v2@${DIGEST}`], t.io)).toBe(0);
    expect(t.out()).toContain('evt-1');
    const entry = eb.commandCalls(PutEventsCommand)[0]?.args[0].input.Entries?.[0];
    expect(entry).toMatchObject({
      Source: 'canary.controller',
      DetailType: 'Deploy Requested',
      EventBusName: 'ops',
    });
    expect(JSON.parse(entry?.Detail ?? '{}')).toEqual({
      service: 'web',
      image: { tag: 'v2', digest: DIGEST },
      rerun: true,
    });

    // A bare tag: ECR DescribeImages in the service's repository (from SERVICES_JSON) gives the digest.
    const ecr = mockClient(ECRClient);
    ecr.on(DescribeImagesCommand, { repositoryName: 'acme/web', imageIds: [{ imageTag: 'v3' }] }).resolves({
      imageDetails: [{ repositoryName: 'acme/web', imageDigest: DIGEST, imageTags: ['v3'] }],
    });
    ecr
      .on(DescribeImagesCommand, { imageIds: [{ imageTag: 'nope' }] })
      .rejects(
        Object.assign(new Error('The image requested does not exist'), { name: 'ImageNotFoundException' }),
      );
    const withServices = { ...env, SERVICES_JSON: JSON.stringify([validServiceConfig()]) };
    t = io(withServices);
    expect(await main(['start', 'web', '--image', 'v3'], t.io)).toBe(0);
    expect(
      JSON.parse(eb.commandCalls(PutEventsCommand)[1]?.args[0].input.Entries?.[0]?.Detail ?? '{}'),
    ).toEqual({
      service: 'web',
      image: { tag: 'v3', digest: DIGEST },
      rerun: true,
    });
    t = io(withServices);
    expect(await main(['start', 'web', '--image', 'nope'], t.io)).toBe(1);
    expect(t.err()).toContain('no image tagged "nope" for web');
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(2);
    ecr.restore();

    eb.on(PutEventsCommand).resolves({
      FailedEntryCount: 1,
      Entries: [{ ErrorCode: 'AccessDenied', ErrorMessage: 'no' }],
    });
    t = io(env);
    expect(await main(['start', 'web', '--image', DIGEST], t.io)).toBe(1);
    expect(t.err()).toContain('EventBridge refused the event: AccessDenied');
    eb.restore();
  });

  it('start: a ref that is neither a digest nor an image tag is refused, ECR not asked', async () => {
    // ECR's model caps imageTag at 300 characters (the contract layer rejects the request); Docker tags are
    // [A-Za-z0-9_][A-Za-z0-9_.-]{0,127}.
    const ecr = mockClient(ECRClient);
    const eb = mockClient(EventBridgeClient);
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [] });
    const withServices = { ...env, SERVICES_JSON: JSON.stringify([validServiceConfig()]) };
    for (const ref of [`v${'1'.repeat(300)}`, 'v1.2 ', '.rc1']) {
      const t = io(withServices);
      expect(await main(['start', 'web', '--image', ref], t.io)).toBe(1);
      expect(t.err()).toContain(`"${ref}" is neither a digest nor an image tag`);
    }
    expect(ecr.commandCalls(DescribeImagesCommand)).toHaveLength(0);
    expect(eb.commandCalls(PutEventsCommand)).toHaveLength(0);
    ecr.restore();
    eb.restore();
  });
});
