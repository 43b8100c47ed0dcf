/**
 * Generated malformed input (fast-check, seeded) at the three human-facing edges:
 * - the approval page (API Gateway HTTP API payload v2): random methods, paths, query strings, form bodies
 *   (garbage, huge, missing or duplicated `t`, tampered base64url links, base64-encoded bodies), headers and
 *   content types. Every request is refused with a clear 4xx and changes nothing: no SendTaskSuccess/Failure,
 *   the wait token still on the record, no history entry;
 * - the CLI's argv with no AWS settings and no sandbox: exit 2 (usage) or 1 (a well-formed command that cannot
 *   reach AWS or the sandbox), never 0, never a throw, stderr naming the problem;
 * - the CanaryController construct's service configs: ConfigInvalid naming the field, before any resource.
 * Nothing is printed.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { App, Stack } from 'aws-cdk-lib';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../cli/main';
import { mintApprovalLink } from '../../functions/core/approval-links';
import type { ServiceConfigInput } from '../../functions/core/config';
import type { RolloutRecord } from '../../functions/core/rollout';
import type { Executions } from '../../functions/ports';
import { makeApprovalPage } from '../../functions/tasks/approval-page';
import { CanaryController } from '../../infra/canary-controller';
import { InMemoryRolloutStore } from '../../sandbox/store';
import { validServiceConfig } from '../helpers/config';

const ctx = { functionName: 'approval-page', getRemainingTimeInMillis: () => 25_000 } as never;

// --- a. the approval page ----------------------------------------------------------------------------------------

const KEY = Buffer.alloc(32, 7);
const OTHER_KEY = Buffer.alloc(32, 9);
const NOW = new Date('2026-01-01T12:00:00Z');
const ROLLOUT = 'web-0123456789abcdef';
const WAIT_TOKEN = 'local-token-approval-wait-1';
const WAIT = { token: WAIT_TOKEN, kind: 'approval' as const, step: 1, since: '2026-01-01T11:00:00.000Z' };

const mint = (over: Partial<Parameters<typeof mintApprovalLink>[1]> = {}, key: Buffer = KEY) =>
  mintApprovalLink(key, {
    rolloutId: ROLLOUT,
    step: 1,
    waitToken: WAIT_TOKEN,
    now: NOW,
    ttlSeconds: 3600,
    nonce: 'fixed-nonce',
    ...over,
  });

/** The one link that would act (with a POST and a decision), and signed links that must not, by status. */
const VALID = mint();
const SIGNED: Record<string, 403 | 410> = {
  [mint({ waitToken: 'an-older-wait' })]: 410,
  [mint({ step: 0 })]: 410,
  [mint({ rolloutId: 'web-ffffffffffffffff' })]: 410,
  [mint({ now: new Date(NOW.getTime() - 7_200_000) })]: 410,
  [mint({}, OTHER_KEY)]: 403,
};

/** What a link alone makes of a request: its refusal status, or undefined for the one good link. */
function linkStatus(link: string | null | undefined): 403 | 410 | undefined {
  if (!link || link.length > 1024) return 403;
  const known = link === VALID ? undefined : SIGNED[link];
  if (known !== undefined || link === VALID) return known;
  // A tampered link is still the same link when the payload is untouched and the signature decodes to the same
  // bytes (base64url's unused trailing bits): then it stands for the link it came from.
  const [payload, signature, ...more] = link.split('.');
  if (
    more.length === 0 &&
    payload !== undefined &&
    signature !== undefined &&
    /^[A-Za-z0-9_-]+$/.test(signature)
  ) {
    for (const original of [VALID, ...Object.keys(SIGNED)]) {
      const [p, s] = original.split('.') as [string, string];
      if (p === payload && Buffer.from(s, 'base64url').equals(Buffer.from(signature, 'base64url')))
        return original === VALID ? undefined : SIGNED[original];
    }
  }
  return 403;
}

const METHODS = [
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'TRACE',
  'post',
  'get',
  'CONNECT',
  '',
];
const PATHS = [
  '/approve',
  '/approve/',
  '/prod/approve',
  '/approve//',
  '/approvex',
  '/xapprove',
  '/',
  '',
  '/approve/../admin',
  '/approve?t=x',
  '/APPROVE',
  '/approve%2F',
  '/prod/approve/extra',
];

const b64urlChar = fc.constantFrom(
  ...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split(''),
);
const anyLink = fc.constantFrom(VALID, ...Object.keys(SIGNED));

/** A link altered at one place: a character replaced, inserted or removed; a part dropped, swapped or repeated. */
const tampered = fc
  .tuple(
    anyLink,
    fc.nat(),
    b64urlChar,
    fc.constantFrom('replace', 'insert', 'delete', 'dots', 'swap', 'pad', 'std64'),
  )
  .map(([link, at, c, how]) => {
    const i = at % link.length;
    const [p, s] = link.split('.') as [string, string];
    switch (how) {
      case 'replace':
        return link.slice(0, i) + (link[i] === c ? (c === 'A' ? 'B' : 'A') : c) + link.slice(i + 1);
      case 'insert':
        return link.slice(0, i) + c + link.slice(i);
      case 'delete':
        return link.slice(0, i) + link.slice(i + 1);
      case 'dots':
        return `${p}..${s}`;
      case 'swap':
        return `${s}.${p}`;
      case 'pad':
        return `${link}==`;
      default:
        return link.replaceAll('-', '+').replaceAll('_', '/');
    }
  });

const junk = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom(
    '',
    '.',
    '..',
    'a.b',
    'a.b.c',
    '%00',
    '<script>alert(1)</script>',
    'null',
    '{}',
    "' OR 1=1 --",
  ),
  fc
    .tuple(fc.base64String({ maxLength: 80 }), fc.base64String({ maxLength: 60 }))
    .map(([a, b]) => `${a}.${b}`),
  fc.nat({ max: 6000 }).map((n) => 'x'.repeat(n)),
  fc.nat({ max: 1200 }).map((n) => `${'A'.repeat(n)}.${'B'.repeat(43)}`),
);

const linkValue = fc.oneof(
  { arbitrary: anyLink, weight: 2 },
  { arbitrary: tampered, weight: 4 },
  { arbitrary: junk, weight: 3 },
);

const decision = fc.oneof(
  fc.constantFrom('approve', 'reject', 'APPROVE', 'yes', '', 'approve ', 'reject\u0000', 'approve,reject'),
  fc.string({ maxLength: 12 }),
);

type Field = [string, string];
const field: fc.Arbitrary<Field> = fc.oneof(
  fc.tuple(fc.constant('t'), linkValue),
  fc.tuple(fc.constant('decision'), decision),
  fc.tuple(fc.constant('reason'), fc.string({ maxLength: 300 })),
  fc.tuple(fc.constantFrom('T', 't[]', ' t', 'token', 'x'), linkValue),
);

const body = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 1 },
  // Form-encoded fields, t possibly missing or duplicated.
  { arbitrary: fc.array(field, { maxLength: 5 }).map((f) => new URLSearchParams(f).toString()), weight: 5 },
  // Raw garbage, not encoded.
  {
    arbitrary: fc.array(field, { maxLength: 4 }).map((f) => f.map(([k, v]) => `${k}=${v}`).join('&')),
    weight: 2,
  },
  { arbitrary: fc.string({ maxLength: 200 }), weight: 1 },
  {
    arbitrary: fc.constantFrom(
      '%',
      '%zz',
      '&&&==',
      '=',
      't',
      't=',
      'decision=approve',
      '{"t":"a.b","decision":"approve"}',
    ),
    weight: 1,
  },
  // Huge.
  {
    arbitrary: fc
      .integer({ min: 4000, max: 20_000 })
      .map((n) => `decision=approve&reason=${'r'.repeat(n)}&t=${VALID}`),
    weight: 1,
  },
);

const headers = fc.dictionary(
  fc.constantFrom(
    'content-type',
    'Content-Type',
    'origin',
    'referer',
    'cookie',
    'x-forwarded-for',
    'authorization',
    'content-length',
  ),
  fc.oneof(
    fc.constantFrom(
      'application/x-www-form-urlencoded',
      'application/json',
      'text/plain',
      'multipart/form-data; boundary=x',
      'https://evil.example',
      '',
      '-1',
    ),
    fc.string({ maxLength: 40 }),
  ),
  { maxKeys: 4 },
);

const request = fc
  .record(
    {
      method: fc.oneof(
        { arbitrary: fc.constant('POST'), weight: 4 },
        { arbitrary: fc.constantFrom(...METHODS), weight: 4 },
        { arbitrary: fc.string({ maxLength: 8 }), weight: 1 },
      ),
      rawPath: fc.oneof(
        { arbitrary: fc.constantFrom(...PATHS), weight: 4 },
        { arbitrary: fc.string({ maxLength: 30 }), weight: 1 },
      ),
      usePathOnly: fc.boolean(),
      noContext: fc.boolean(),
      query: fc.option(fc.dictionary(fc.constantFrom('t', 'T', 'decision', 'x'), linkValue, { maxKeys: 3 }), {
        nil: undefined,
      }),
      body,
      base64: fc.boolean(),
      headers,
      sourceIp: fc.constantFrom('203.0.113.9', '', '::1'),
    },
    {
      requiredKeys: [
        'method',
        'rawPath',
        'usePathOnly',
        'noContext',
        'body',
        'base64',
        'headers',
        'sourceIp',
      ],
    },
  )
  .map((r) => {
    const event = {
      version: '2.0',
      routeKey: '$default',
      rawQueryString: r.query ? new URLSearchParams(r.query).toString() : '',
      headers: r.headers,
      isBase64Encoded: r.base64,
      ...(r.usePathOnly && !r.noContext ? {} : { rawPath: r.rawPath }),
      ...(r.query ? { queryStringParameters: r.query } : {}),
      ...(r.body === undefined
        ? {}
        : { body: r.base64 ? Buffer.from(r.body, 'utf8').toString('base64') : r.body }),
      ...(r.noContext
        ? {}
        : {
            requestContext: {
              http: {
                method: r.method,
                path: r.rawPath,
                protocol: 'HTTP/1.1',
                sourceIp: r.sourceIp,
                userAgent: 'fuzz',
              },
            },
          }),
    } as unknown as APIGatewayProxyEventV2;
    return event;
  });

/** The status the page must answer, or 'acts' for the only requests that may act (filtered out). */
function expectedStatus(event: APIGatewayProxyEventV2): number | 'acts' | 'shows' {
  const method = event.requestContext?.http?.method ?? 'GET';
  const path = event.rawPath ?? event.requestContext?.http?.path ?? '/';
  if (!/(^|\/)approve\/?$/.test(path)) return 404;
  const query = event.queryStringParameters?.t;
  if (method === 'GET' || method === 'HEAD') return linkStatus(query) ?? 'shows';
  if (method !== 'POST') return 405;
  const text = event.body
    ? event.isBase64Encoded
      ? Buffer.from(event.body, 'base64').toString('utf8')
      : event.body
    : '';
  const type =
    Object.entries(event.headers ?? {}).find(([k]) => k.toLowerCase() === 'content-type')?.[1] ?? '';
  // Only a url-encoded form is read (what the page posts); anything else is refused before the link is looked at.
  if (event.body && !/^application\/x-www-form-urlencoded\b/i.test(type)) return 400;
  if (text.length > 4096) return 400;
  const fields = new URLSearchParams(text);
  const status = linkStatus(fields.get('t') ?? query);
  if (status) return status;
  const d = fields.get('decision');
  return d === 'approve' || d === 'reject' ? 'acts' : 400;
}

describe('a. the approval page under malformed requests', () => {
  it('answers ≥ 500 generated requests with a clear 4xx and changes nothing', async () => {
    const store = new InMemoryRolloutStore();
    const record: RolloutRecord = {
      rolloutId: ROLLOUT,
      service: 'web',
      image: { repository: 'shop/web', digest: `sha256:${'ab'.repeat(32)}`, tag: 'v2' },
      status: 'running',
      alarms: [],
      createdAt: '2026-01-01T11:00:00.000Z',
      updatedAt: '2026-01-01T11:00:00.000Z',
      currentStep: 1,
      canaryPercent: 25,
      wait: WAIT,
    };
    await store.putRollout(record);
    const calls: string[] = [];
    const executions = {
      start: async () => {
        calls.push('start');
        throw new Error('not expected');
      },
      stop: async () => {
        calls.push('stop');
      },
      isRunning: async () => true,
      sendTaskSuccess: async () => {
        calls.push('sendTaskSuccess');
        return true;
      },
      sendTaskFailure: async () => {
        calls.push('sendTaskFailure');
        return true;
      },
    } as unknown as Executions;
    const logged: string[] = [];
    const log = {
      info: (m: string, e?: unknown) => logged.push(`${m} ${JSON.stringify(e)}`),
      warn: (m: string, e?: unknown) => logged.push(`${m} ${JSON.stringify(e)}`),
      error: (m: string, e?: unknown) => logged.push(`ERROR ${m} ${JSON.stringify(e)}`),
    };
    const clock = { now: () => NOW, workflowSeconds: (s: number) => s, sleep: async () => undefined };
    const page = makeApprovalPage({ store, executions, clock, log, signingKey: async () => KEY });

    let tried = 0;
    const statuses = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(request, async (event) => {
        const expected = expectedStatus(event);
        // The only requests allowed to succeed: a GET of the good link, or a POST deciding with it.
        fc.pre(expected !== 'acts' && expected !== 'shows');
        tried++;
        const res = await page(event, ctx);
        statuses.set(res.statusCode ?? 0, (statuses.get(res.statusCode ?? 0) ?? 0) + 1);
        expect(res.statusCode).toBe(expected);
        expect(res.headers?.['content-type']).toBe('text/html; charset=utf-8');
        expect(String(res.headers?.['content-security-policy'])).toContain("default-src 'none'");
        if (res.statusCode === 405) expect(res.headers?.allow).toBe('GET, POST');
        expect(res.body).toMatch(/<h1>[^<]+<\/h1>/);
        expect(res.body).not.toContain(WAIT_TOKEN);
        expect(calls).toEqual([]);
      }),
      { numRuns: 700, seed: 20261123, endOnFailure: true },
    );

    expect(tried).toBeGreaterThanOrEqual(500);
    // Every refusal kind was reached.
    for (const s of [400, 403, 404, 405, 410]) expect(statuses.get(s) ?? 0, `status ${s}`).toBeGreaterThan(0);
    expect(calls).toEqual([]);
    expect((await store.getRollout(ROLLOUT))?.wait).toEqual(WAIT);
    expect(await store.history(ROLLOUT)).toEqual([]);
    expect(logged.filter((l) => l.startsWith('ERROR'))).toEqual([]);
    expect(logged.join('\n')).not.toContain(VALID);
    expect(logged.join('\n')).not.toContain(WAIT_TOKEN);

    // The oracle is not vacuous: the good link does act.
    const good = await page(
      {
        rawPath: '/approve',
        requestContext: { http: { method: 'POST', path: '/approve', sourceIp: '203.0.113.9' } },
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ t: VALID, decision: 'reject' }).toString(),
        isBase64Encoded: false,
      } as unknown as APIGatewayProxyEventV2,
      ctx,
    );
    expect(good.statusCode).toBe(200);
    expect(calls).toEqual(['sendTaskFailure']);
  });
});

// --- b. the CLI ----------------------------------------------------------------------------------------------------

const COMMANDS = ['status', 'history', 'approve', 'reject', 'abort', 'promote', 'start', 'release', 'report'];
const DIGEST = `sha256:${'ab'.repeat(32)}`;
const cliDirs: string[] = [];
afterAll(() => {
  for (const d of cliDirs) rmSync(d, { recursive: true, force: true });
});

const token = fc.oneof(
  { arbitrary: fc.constantFrom(...COMMANDS), weight: 4 },
  {
    arbitrary: fc.constantFrom(
      '--sandbox',
      '--json',
      '--full',
      '--reason',
      '--image',
      '--out',
      '--limit',
      '--reason=x',
      '--limit=5',
      '--limit=0',
      '--limit=abc',
      '--image=v2',
      `--image=${DIGEST}`,
      '--full=yes',
      '--out=r.html',
    ),
    weight: 4,
  },
  {
    arbitrary: fc.constantFrom(
      'web',
      'api',
      DIGEST,
      'v2',
      `v2@${DIGEST}`,
      'web-0123456789abcdef',
      '5',
      '-1',
      '101',
    ),
    weight: 3,
  },
  {
    arbitrary: fc.constantFrom(
      '--bogus',
      '-x',
      '-',
      '--',
      '---',
      '--=',
      '--sandbox=1',
      '--json=false',
      '-hx',
      'HELP',
      'Status',
      'frobnicate',
      '',
      ' ',
      '\u0000',
      'ünïcødé',
      '--no-json',
      '-j',
      '--Help',
    ),
    weight: 3,
  },
  {
    arbitrary: fc
      .string({ maxLength: 12 })
      .filter((s) => !/^(-h|--help|help)$/.test(s) && !s.startsWith('-h')),
    weight: 2,
  },
);

/** Help is the one junk-free way to get exit 0 with no backend; it is not junk, so it is left out. */
const isHelp = (argv: string[]) => {
  const before = argv.indexOf('--');
  const opts = before === -1 ? argv : argv.slice(0, before);
  return (
    opts.some((a) => a === '--help' || a === '-h' || /^-[a-zA-Z]*h/.test(a)) ||
    argv.find((a) => !a.startsWith('-')) === 'help'
  );
};

describe('b. the CLI under generated argv, with no AWS settings and no sandbox', () => {
  it('exits 2 (usage) or 1 (cannot reach AWS or the sandbox) on ≥ 300 argv, never 0, never throws', async () => {
    // No settings anywhere the SDK could find some (the CLI reads only io.env; the SDK also reads these).
    vi.stubEnv('AWS_REGION', '');
    vi.stubEnv('AWS_DEFAULT_REGION', '');
    vi.stubEnv('AWS_PROFILE', '');
    vi.stubEnv('AWS_CONFIG_FILE', '/nonexistent/aws-config');
    vi.stubEnv('AWS_SHARED_CREDENTIALS_FILE', '/nonexistent/aws-credentials');
    vi.stubEnv('AWS_EC2_METADATA_DISABLED', 'true');
    const cwd = mkdtempSync(join(tmpdir(), 'canary-cli-fuzz-'));
    cliDirs.push(cwd);
    let tried = 0;
    const codes = new Map<number, number>();
    try {
      await fc.assert(
        fc.asyncProperty(fc.array(token, { maxLength: 6 }), async (argv) => {
          fc.pre(!isHelp(argv));
          tried++;
          const out: string[] = [];
          const err: string[] = [];
          const io = { stdout: (s: string) => out.push(s), stderr: (s: string) => err.push(s), env: {}, cwd };
          let code: number;
          try {
            code = await main([...argv], io);
          } catch (error) {
            throw new Error(`main threw on ${JSON.stringify(argv)}: ${String(error)}`);
          }
          codes.set(code, (codes.get(code) ?? 0) + 1);
          const stderr = err.join('');
          expect([1, 2], `${JSON.stringify(argv)} → ${code}: ${stderr}`).toContain(code);
          expect(out.join('')).toBe('');
          if (code === 2) expect(stderr).toMatch(/^canary: .+\nRun `canary --help` for usage\.\n$/s);
          else
            expect(stderr).toMatch(
              /TABLE_NAME is not set|STATE_MACHINE_ARN is not set|no running sandbox found|tags are not resolved against ECR|not a digest|must be|Region is missing|region/i,
            );
        }),
        { numRuns: 420, seed: 20261123, endOnFailure: true },
      );
    } finally {
      vi.unstubAllEnvs();
    }
    expect(tried).toBeGreaterThanOrEqual(300);
    expect(codes.get(2) ?? 0).toBeGreaterThan(0);
    expect(codes.get(1) ?? 0).toBeGreaterThan(0);
    expect(codes.get(0)).toBeUndefined();
    // Nothing was written (no report file).
    expect(readdirSync(cwd)).toEqual([]);
  }, 60_000);
});

// --- c. the CDK construct ------------------------------------------------------------------------------------------

type Json = Record<string, unknown>;

/** Leaf fields of a valid config (object paths) and a wrong value for each. */
const FIELDS: string[][] = [
  ['service'],
  ['repository'],
  ['traffic'],
  ['traffic', 'kind'],
  ['traffic', 'listenerArn'],
  ['traffic', 'stableTargetGroupArn'],
  ['traffic', 'canaryTargetGroupArn'],
  ['deployer'],
  ['deployer', 'kind'],
  ['deployer', 'cluster'],
  ['deployer', 'stableService'],
  ['deployer', 'canaryService'],
  ['deployer', 'container'],
  ['steps'],
  ['steps', '0', 'weight'],
  ['steps', '1', 'bakeSeconds'],
  ['analysis'],
  ['analysis', 'minRequests'],
  ['analysis', 'alarms'],
  ['analysis', 'alarms', '0'],
  ['notifications'],
  ['notifications', 'snsTopicArn'],
  ['notifications', 'pagerDuty'],
  ['notifications', 'pagerDuty', 'routingKeySecretArn'],
  ['notifications', 'consoleUrl'],
];
/** Wrong values by the field's type (a number for a number field, or [] for a list, could be valid). */
const NUMERIC = new Set(['steps.0.weight', 'steps.1.bakeSeconds', 'analysis.minRequests']);
const LISTS = new Set(['steps', 'analysis.alarms']);
function wrongFor(path: string[]): unknown[] {
  const key = path.join('.');
  if (NUMERIC.has(key)) return [null, '42', true, [], { nested: 1 }, Number.NaN];
  if (LISTS.has(key)) return [null, 42, true, { nested: 1 }, 'NotAPreset'];
  return [null, 42, true, [], { nested: 1 }, -1.5];
}

const ARN_FIELDS: string[][] = [
  ['traffic', 'listenerArn'],
  ['traffic', 'stableTargetGroupArn'],
  ['traffic', 'canaryTargetGroupArn'],
  ['notifications', 'snsTopicArn'],
  ['notifications', 'pagerDuty', 'routingKeySecretArn'],
];
const BAD_ARNS = [
  '',
  'not-an-arn',
  'arn:aws:sns:us-east-1:123456789012',
  'arn:aws:s3:::bucket',
  'arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/50dc6c495c0c9188',
  'arn:aws:elasticloadbalancing:us-east-1:12345:listener/app/web/x/y',
  'arn:aws:secretsmanager:us-east-1:123456789012:parameter/x',
  'arn:aws:sqs:us-east-1:123456789012:queue',
  ' arn:aws:sns:us-east-1:123456789012:topic',
  'arn:aws:sns:us-east-1:123456789012:topic\n',
];

const OBJECT_PATHS: string[][] = [
  [],
  ['traffic'],
  ['deployer'],
  ['analysis'],
  ['notifications'],
  ['steps', '0'],
  ['notifications', 'pagerDuty'],
];

/** `[0].steps[0].weight` for service 0 and ['steps', '0', 'weight']. */
function fieldName(index: number, path: string[]): string {
  return path.reduce((out, key) => (/^\d+$/.test(key) ? `${out}[${key}]` : `${out}.${key}`), `[${index}]`);
}

function set(target: Json, path: string[], value: unknown): void {
  let node = target as Record<string, unknown>;
  for (const key of path.slice(0, -1)) node = node[key] as Record<string, unknown>;
  node[path[path.length - 1] as string] = value;
}

type Mutation = { services: unknown; field: string | RegExp };

const API = (): ServiceConfigInput =>
  validServiceConfig({ service: 'api', repository: 'acme/api', deployer: { kind: 'none' } });

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.nat(), fc.boolean())
    .map(([path, n, second]) => [path, wrongFor(path)[n % wrongFor(path).length], second] as const)
    .map(([path, wrong, second]) => {
      const configs = [validServiceConfig(), API()] as unknown as Json[];
      const i = second ? 1 : 0;
      if (i === 1 && path[0] === 'deployer' && path.length > 1 && path[1] !== 'kind') {
        // The second service has no ECS fields: put the wrong value on the first one's.
        set(configs[0] as Json, path, wrong);
        return { services: configs, field: fieldName(0, path) };
      }
      set(configs[i] as Json, path, wrong);
      return { services: configs.slice(0, i + 1), field: fieldName(i, path) };
    }),
  fc.tuple(fc.constantFrom(...ARN_FIELDS), fc.constantFrom(...BAD_ARNS)).map(([path, arn]) => {
    const config = validServiceConfig() as unknown as Json;
    set(config, path, arn);
    return { services: [config], field: fieldName(0, path) };
  }),
  fc
    .tuple(
      fc.constantFrom(...OBJECT_PATHS),
      fc.constantFrom('extra', 'Service', 'listenerarn', '__proto__x', 'weights', 'kind2'),
    )
    .map(([path, key]) => {
      const config = validServiceConfig() as unknown as Json;
      let node = config as Record<string, unknown>;
      for (const k of path) node = node[k] as Record<string, unknown>;
      node[key] = 'x';
      return { services: [config], field: `${fieldName(0, path)}.${key}: unknown field` };
    }),
  fc.constantFrom<'service' | 'repository'>('service', 'repository').map((dup) => {
    const other = API() as unknown as Json;
    other[dup] = dup === 'service' ? 'web' : 'acme/web';
    return { services: [validServiceConfig(), other], field: `[1].${dup}: duplicates services[0].${dup}` };
  }),
  fc.constantFrom(null, 42, 'web', { service: 'web' }, [null], [42], [[]]).map((services) => ({
    services,
    field: /services is invalid/,
  })),
);

describe('c. the CanaryController construct under malformed service configs', () => {
  it('throws ConfigInvalid naming the field, before any resource, on ≥ 100 generated configs', () => {
    let tried = 0;
    fc.assert(
      fc.property(mutation, ({ services, field }) => {
        tried++;
        const app = new App();
        const stack = new Stack(app, 'Fuzz', { env: { account: '123456789012', region: 'us-east-1' } });
        let thrown: unknown;
        try {
          new CanaryController(stack, 'C', { services: services as ServiceConfigInput[] });
        } catch (error) {
          thrown = error;
        }
        expect(thrown).toBeInstanceOf(Error);
        expect((thrown as Error).name).toBe('ConfigInvalid');
        const message = (thrown as Error).message;
        if (typeof field === 'string') expect(message).toContain(field);
        else expect(message).toMatch(field);
        // Nothing was created: the construct has no children, the stack nothing else.
        expect(stack.node.children.map((c) => c.node.id)).toEqual(['C']);
        expect(stack.node.findChild('C').node.children).toEqual([]);
      }),
      { numRuns: 160, seed: 20261123, endOnFailure: true },
    );
    expect(tried).toBeGreaterThanOrEqual(100);
  });
});
