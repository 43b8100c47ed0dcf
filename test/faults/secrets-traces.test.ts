/**
 * Secrets never reach X-Ray (with test/faults/secrets.test.ts, which covers what a sandbox run prints and writes).
 * The deployed approval-page handler runs with Powertools' tracer on, as Lambda runs it with active tracing
 * (AWS_EXECUTION_ENV, LAMBDA_TASK_ROOT, _X_AMZN_TRACE_ID, AWS_XRAY_DAEMON_ADDRESS: Lambda developer guide,
 * "Defined runtime environment variables"), and every segment document the X-Ray SDK sends to the daemon over UDP
 * (X-Ray developer guide, "Sending segment documents to the X-Ray daemon") is captured on a local socket: the
 * handler's subsegment is there, and neither the page's response (it carries the approval link) nor the link, the
 * task token or the signing key is in any of them, also when the page fails.
 */
import { createSocket, type Socket } from 'node:dgram';
import { GetSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendTaskFailureCommand, SendTaskSuccessCommand } from '@aws-sdk/client-sfn';
import { QueryCommand } from '@aws-sdk/lib-dynamodb';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { approvalUrl, mintApprovalLink } from '../../functions/core/approval-links';
import {
  context,
  doc,
  installAwsMockHooks,
  NOW,
  record,
  secrets,
  sfn,
  stubEnv,
  TASK_TOKEN,
  table,
} from '../helpers/aws-mocks';
import { ROLLOUT_ID } from '../helpers/config';

installAwsMockHooks();

const SIGNING_KEY = 'k3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3yk3yK3y0001';
const SIGNING_SECRET_ARN = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:canary/approval-AbCdEf';
const WAIT = { token: TASK_TOKEN, kind: 'approval' as const, step: 1, since: NOW };

// One daemon for the file: the X-Ray SDK reads its address once, when it is first loaded.
let daemon: Socket;
let received: string[] = [];

beforeAll(async () => {
  daemon = createSocket('udp4');
  daemon.on('message', (m) => received.push(m.toString('utf8')));
  await new Promise<void>((done) => daemon.bind(0, '127.0.0.1', () => done()));
});

afterAll(() => {
  daemon.close();
});

beforeEach(() => {
  received = [];
  stubEnv({
    POWERTOOLS_TRACE_ENABLED: 'true',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
    LAMBDA_TASK_ROOT: '/var/task',
    _HANDLER: 'index.handler',
    _X_AMZN_TRACE_ID: 'Root=1-67d3f7a0-5f0c1a2b3c4d5e6f7a8b9c0d;Parent=53995c3f42cd8ad8;Sampled=1',
    AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
    AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
    AWS_XRAY_LOG_LEVEL: 'silent',
    APPROVAL_SIGNING_SECRET_ARN: SIGNING_SECRET_ARN,
  });
  secrets.on(GetSecretValueCommand).resolves({ ARN: SIGNING_SECRET_ARN, SecretString: SIGNING_KEY });
  doc.on(QueryCommand).resolves({ Items: [] });
  table({ lock: true, record: record({ wait: WAIT, currentStep: 1, canaryPercent: 25 }) });
});

const link = () =>
  mintApprovalLink(SIGNING_KEY, {
    rolloutId: ROLLOUT_ID,
    step: 1,
    waitToken: TASK_TOKEN,
    now: new Date(NOW),
    ttlSeconds: 3600,
  });

function request(method: 'GET' | 'POST', t: string): APIGatewayProxyEventV2 {
  return {
    version: '2.0',
    routeKey: `${method} /approve`,
    rawPath: '/approve',
    rawQueryString: method === 'GET' ? `t=${encodeURIComponent(t)}` : '',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    requestContext: { http: { method, path: '/approve', sourceIp: '203.0.113.9' } },
    ...(method === 'GET'
      ? { queryStringParameters: { t } }
      : { body: new URLSearchParams({ t, decision: 'reject', reason: 'no' }).toString() }),
    isBase64Encoded: false,
  } as unknown as APIGatewayProxyEventV2;
}

/** The segment documents sent so far, once the handler's own subsegment has arrived (UDP: a short wait). */
async function segments(count: number): Promise<string[]> {
  for (let i = 0; i < 200 && received.filter((r) => r.includes('## index.handler')).length < count; i++)
    await new Promise((done) => setTimeout(done, 10));
  return received;
}

function expectNoSecret(documents: string[], t: string) {
  const all = documents.join('\n');
  for (const secret of [
    t,
    encodeURIComponent(t),
    t.split('.')[1] as string,
    approvalUrl('https://x', t),
    TASK_TOKEN,
    SIGNING_KEY,
  ])
    expect(all.includes(secret), `a trace holds ${secret.slice(0, 20)}…`).toBe(false);
  expect(all).not.toContain('index.handler response');
}

describe('the approval page traced by X-Ray', () => {
  it('GET and POST: the handler is traced, its response and the link are not, nor logged', async () => {
    // Everything logged, the event too if the logger would (POWERTOOLS_LOGGER_LOG_EVENT).
    stubEnv({
      POWERTOOLS_DEV: 'false',
      POWERTOOLS_LOG_LEVEL: 'DEBUG',
      POWERTOOLS_LOGGER_LOG_EVENT: 'true',
      POWERTOOLS_TRACE_ENABLED: 'true',
      AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs22.x',
      LAMBDA_TASK_ROOT: '/var/task',
      _HANDLER: 'index.handler',
      AWS_XRAY_DAEMON_ADDRESS: `127.0.0.1:${daemon.address().port}`,
      AWS_XRAY_CONTEXT_MISSING: 'IGNORE_ERROR',
      APPROVAL_SIGNING_SECRET_ARN: SIGNING_SECRET_ARN,
    });
    const logged: string[] = [];
    const capture = (chunk: unknown) => {
      logged.push(String(chunk));
      return true;
    };
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(capture);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(capture);
    sfn.on(SendTaskFailureCommand).resolves({});
    const t = link();
    let shown: { statusCode: number; body: string };
    let decided: { statusCode: number; body: string };
    try {
      const { handler } = await import('../../functions/handlers/approval-page');
      shown = (await handler(request('GET', t), context)) as typeof shown;
      decided = (await handler(request('POST', t), context)) as typeof decided;
    } finally {
      out.mockRestore();
      err.mockRestore();
    }

    // The logs were captured (the decision is logged, with the address it came from) and hold no secret.
    expect(logged.join('')).toContain('"message":"approval decided"');
    expectNoSecret(logged, t);

    expect(shown.statusCode).toBe(200);
    expect(shown.body).toContain(t.split('.')[1]);
    expect(decided.statusCode).toBe(200);
    const documents = await segments(2);
    // The capture works: both invocations' handler subsegments are there (the SDK calls are mocked below the
    // X-Ray middleware, so they make no subsegments here).
    expect(documents.filter((d) => d.includes('## index.handler'))).toHaveLength(2);
    expectNoSecret(documents, t);
  });

  it('a failing call: the error recorded names no token and no link', async () => {
    sfn.on(SendTaskSuccessCommand).rejects(
      Object.assign(new Error(`Invalid token ${TASK_TOKEN}`), {
        name: 'InternalServerError',
        $fault: 'server',
      }),
    );
    sfn.on(SendTaskFailureCommand).rejects(
      Object.assign(new Error(`Invalid token ${TASK_TOKEN}`), {
        name: 'InternalServerError',
        $fault: 'server',
      }),
    );
    const { handler } = await import('../../functions/handlers/approval-page');
    const t = link();

    const res = (await handler(request('POST', t), context)) as { statusCode: number };

    expect(res.statusCode).toBe(503);
    const documents = await segments(1);
    expect(documents.filter((d) => d.includes('## index.handler'))).toHaveLength(1);
    expectNoSecret(documents, t);
  });
});
