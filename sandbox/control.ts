/**
 * The sandbox's operator endpoint on loopback: the real approval page handler (node requests translated into API
 * Gateway HTTP API v2 events) at `/approve`, and a small JSON control API at `/control/<operation>` that the CLI's
 * `--sandbox` mode calls (the same Operations the CLI runs against AWS). The control API needs the bearer token
 * the sandbox writes, with its URL, to reports/.sandbox.json (mode 0600).
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2, APIGatewayProxyStructuredResultV2 } from 'aws-lambda';
import type { Operations } from '../cli/operations';
import { OperationError } from '../cli/results';
import type { ApprovalPageHandler } from '../functions/tasks/approval-page';

const MAX_BODY = 16 * 1024;

/**
 * Where a running sandbox writes its ControlInfo (relative to the working directory; CANARY_SANDBOX_FILE names
 * another file) and where `npx canary … --sandbox` reads it.
 */
export const CONTROL_INFO_FILE = 'reports/.sandbox.json';

/** What that file holds: the control endpoint and its bearer token, the sandbox's pid and its services. */
export interface ControlInfo {
  url: string;
  token: string;
  pid: number;
  services: string[];
}

/** Translate a node request into the event API Gateway (HTTP API, payload v2) would deliver. */
function toApiGatewayEvent(req: http.IncomingMessage, body: Buffer): APIGatewayProxyEventV2 {
  const url = new URL(req.url ?? '/', 'http://127.0.0.1');
  const headers: Record<string, string> = {};
  for (const [k, v] of Object.entries(req.headers))
    if (v !== undefined) headers[k] = Array.isArray(v) ? v.join(',') : v;
  const query: Record<string, string> = {};
  for (const [k, v] of url.searchParams) query[k] = query[k] === undefined ? v : `${query[k]},${v}`;
  const now = Date.now();
  return {
    version: '2.0',
    routeKey: `${req.method} ${url.pathname}`,
    rawPath: url.pathname,
    rawQueryString: url.search.slice(1),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'sandbox',
      domainName: headers.host ?? '127.0.0.1',
      domainPrefix: 'sandbox',
      http: {
        method: req.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${req.httpVersion}`,
        sourceIp: req.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomBytes(8).toString('hex'),
      routeKey: `${req.method} ${url.pathname}`,
      stage: '$default',
      time: new Date(now).toUTCString(),
      timeEpoch: now,
    },
    ...(body.length > 0 ? { body: body.toString('base64') } : {}),
    isBase64Encoded: body.length > 0,
  };
}

type Call = (ops: Operations, args: Record<string, unknown>) => Promise<unknown>;

const str = (v: unknown, name: string): string => {
  if (typeof v !== 'string' || v.length === 0) throw new OperationError(`missing ${name}`, 'refused');
  return v;
};
const opt = (v: unknown) => (typeof v === 'string' && v.length > 0 ? v : undefined);

const CALLS: Record<string, Call> = {
  status: (o, a) => o.status(opt(a.service)),
  history: (o, a) => o.history(str(a.service, 'service'), typeof a.limit === 'number' ? a.limit : 10),
  approve: (o, a) => o.approve(str(a.service, 'service'), opt(a.reason)),
  reject: (o, a) => o.reject(str(a.service, 'service'), opt(a.reason)),
  abort: (o, a) => o.abort(str(a.service, 'service'), opt(a.reason)),
  pause: (o, a) => o.pause(str(a.service, 'service'), opt(a.reason)),
  resume: (o, a) => o.resume(str(a.service, 'service')),
  retry: (o, a) => o.retry(str(a.service, 'service')),
  promote: (o, a) => o.promote(str(a.service, 'service'), { full: a.full === true }),
  start: (o, a) => o.start(str(a.service, 'service'), str(a.image, 'image')),
  release: (o, a) => o.release(str(a.service, 'service'), str(a.digest, 'digest')),
  locate: (o, a) => {
    const r = (a.request ?? {}) as Record<string, unknown>;
    return o.locate({
      service: str(r.service, 'request.service'),
      digest: str(r.digest, 'request.digest'),
      eventId: str(r.eventId, 'request.eventId'),
    });
  },
  progress: (o, a) => o.progress(str(a.rolloutId, 'rollout id'), opt(a.since)),
  report: (o, a) =>
    o.report(str(a.rolloutId, 'rollout id')).then((r) => ({ html: r.html, rolloutId: r.record.rolloutId })),
};

export class ControlServer {
  private server: http.Server | undefined;
  readonly token = randomBytes(24).toString('base64url');
  url = '';

  constructor(
    private readonly approvalPage: ApprovalPageHandler,
    private readonly operations: Operations,
  ) {}

  async start(): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      req.on('data', (c: Buffer) => {
        size += c.length;
        if (size > MAX_BODY) {
          res.writeHead(413).end();
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      req.on('end', () => {
        void this.route(req, Buffer.concat(chunks))
          .then(({ status, headers, body }) => res.writeHead(status, headers).end(body))
          .catch((error) => res.writeHead(500, { 'content-type': 'text/plain' }).end(String(error)));
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private authorized(req: http.IncomingMessage): boolean {
    const given = Buffer.from(req.headers.authorization ?? '');
    const expected = Buffer.from(`Bearer ${this.token}`);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }

  private async route(
    req: http.IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, string>; body: string }> {
    const path = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    if (path.startsWith('/control/')) {
      const json = { 'content-type': 'application/json' };
      if (!this.authorized(req))
        return { status: 401, headers: json, body: '{"ok":false,"error":"unauthorized"}' };
      const call = CALLS[path.slice('/control/'.length)];
      if (!call || req.method !== 'POST')
        return { status: 404, headers: json, body: '{"ok":false,"error":"no such operation"}' };
      let args: Record<string, unknown>;
      try {
        args = body.length > 0 ? JSON.parse(body.toString('utf8')) : {};
      } catch {
        return { status: 400, headers: json, body: '{"ok":false,"error":"body is not JSON"}' };
      }
      try {
        const result = await call(this.operations, args);
        return { status: 200, headers: json, body: JSON.stringify({ ok: true, result }) };
      } catch (error) {
        const e = error as Error;
        const code = error instanceof OperationError ? error.code : 'failed';
        return {
          status: error instanceof OperationError ? 409 : 500,
          headers: json,
          body: JSON.stringify({ ok: false, error: e.message, code }),
        };
      }
    }
    const result: APIGatewayProxyStructuredResultV2 = await this.approvalPage(toApiGatewayEvent(req, body), {
      functionName: 'canary-approval-page',
      getRemainingTimeInMillis: () => 30_000,
    } as never);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(result.headers ?? {})) headers[k] = String(v);
    return {
      status: result.statusCode ?? 200,
      headers,
      body: req.method === 'HEAD' ? '' : (result.body ?? ''),
    };
  }
}
