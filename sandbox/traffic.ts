import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AppMetrics } from './app-metrics';
import type { VirtualClock } from './clock';
import type { Backends, RunningVersion } from './deployer';
import { type LocalLoadBalancer, STICKY_COOKIE } from './load-balancer';
import type { MetricsRecorder } from './metrics';
import { crashed, serve } from './versions';
import type { LocalXRay } from './xray';

/** Counts per target group of what users actually received. */
export class ServedCounts {
  readonly byTargetGroup = new Map<string, { requests: number; serverErrors: number }>();
  /** Of those, the requests of internal users (they carry the header rule's header): testers, not the public. */
  readonly internalByTargetGroup = new Map<string, { requests: number; serverErrors: number }>();
  /** Requests the load balancer itself failed (no healthy target): ALB's own 503s. */
  elbErrors = 0;

  add(tg: string, status: number, internal = false): void {
    for (const map of internal ? [this.byTargetGroup, this.internalByTargetGroup] : [this.byTargetGroup]) {
      const c = map.get(tg) ?? { requests: 0, serverErrors: 0 };
      c.requests++;
      if (status >= 500) c.serverErrors++;
      map.set(tg, c);
    }
  }

  /** What the public (users without the header) received from a target group. */
  publicSnapshot(tg: string): { requests: number; serverErrors: number } {
    const all = this.snapshot(tg);
    const internal = this.internalByTargetGroup.get(tg) ?? { requests: 0, serverErrors: 0 };
    return {
      requests: all.requests - internal.requests,
      serverErrors: all.serverErrors - internal.serverErrors,
    };
  }

  snapshot(tg: string): { requests: number; serverErrors: number } {
    return { ...(this.byTargetGroup.get(tg) ?? { requests: 0, serverErrors: 0 }) };
  }
}

/** What the version behind a target group answers to one request now. */
function answer(running: RunningVersion, nowMs: number, random: () => number) {
  return serve(running.version.profile, ageSeconds(running, nowMs), random(), random());
}

const ageSeconds = (running: RunningVersion, nowMs: number) => (nowMs - running.startedAtMs) / 1000;

/**
 * The load balancer's answer when a target never responded: 502 Bad Gateway ("Troubleshoot your Application Load
 * Balancers": a TCP RST from the target when connecting, or the target closing the connection while the request was
 * outstanding).
 */
const BAD_GATEWAY = 502;

/**
 * Rollout seconds before a dead target is counted unhealthy: ALB's defaults, a health check every 30 s
 * (HealthCheckIntervalSeconds) and 2 consecutive failures (UnhealthyThresholdCount) ("Health checks for Application
 * Load Balancer target groups").
 */
const UNHEALTHY_AFTER_SECONDS = 30 * 2;

/**
 * One health sample of each target group, as ALB's load balancer nodes report HealthyHostCount and
 * UnHealthyHostCount: nothing while no target is registered, neither while the targets pass their initial checks,
 * unhealthy once a crashed process has failed its health checks, healthy otherwise. A running version has one task
 * per 10% of traffic it is sized for.
 */
export function sampleTargetHealth(
  backends: Backends,
  recorder: MetricsRecorder,
  targetGroups: readonly string[],
  nowMs: number,
): void {
  for (const tg of targetGroups) {
    const running = backends.get(tg);
    if (!running) continue;
    const tasks = Math.max(1, Math.round(running.capacityPercent / 10));
    const dead =
      running.version.profile.crashAfterSeconds !== undefined &&
      ageSeconds(running, nowMs) >= running.version.profile.crashAfterSeconds + UNHEALTHY_AFTER_SECONDS;
    if (nowMs < running.readyAtMs) recorder.recordHealth(tg, nowMs, 0, 0);
    else if (dead) recorder.recordHealth(tg, nowMs, 0, tasks);
    else recorder.recordHealth(tg, nowMs, tasks, 0);
  }
}

export interface DataPlane {
  start(): Promise<void>;
  stop(): Promise<void>;
  readonly served: ServedCounts;
  /** Requests sent so far, for the sandbox's throughput figure. */
  readonly sent: number;
}

export interface Common {
  /** The weighted forward action users' requests go through: a listener's, or a listener rule's (forwardKey). */
  listenerArn: string;
  /** Where to count what users received (shared by the services' data planes); default: a count of its own. */
  served?: ServedCounts;
  lb: LocalLoadBalancer;
  backends: Backends;
  recorder: MetricsRecorder;
  /** The apps trace the requests they serve (sampled) to this X-Ray. */
  xray?: LocalXRay;
  /** The apps publish their business metric per request here. */
  app?: AppMetrics;
  clock: VirtualClock;
  rps: number;
  random: () => number;
  /** Share of users that carry the header rule's header (internal users / testers). */
  internalShare?: number;
  internalHeader?: { name: string; value: string };
  users?: number;
  /** Where a user's request goes when users pick the version themselves (weighted DNS records), not the listener. */
  resolve?: (user: number, random: number) => string | undefined;
}

/**
 * Users send requests through the listener's routing without sockets: the same routing, stickiness and
 * versions as the HTTP data plane, with seeded randomness, for fast repeatable tests.
 */
export class SyntheticTraffic implements DataPlane {
  readonly served: ServedCounts;
  sent = 0;
  private timer: NodeJS.Timeout | undefined;
  private carry = 0;
  private readonly cookies = new Map<number, string>();

  constructor(private readonly o: Common) {
    this.served = o.served ?? new ServedCounts();
  }

  async start(): Promise<void> {
    const tickMs = 20;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      this.carry += (this.o.rps * (now - last)) / 1000;
      last = now;
      const n = Math.floor(this.carry);
      this.carry -= n;
      for (let i = 0; i < n; i++) this.one();
    }, tickMs);
  }

  private one(): void {
    const { lb, backends, recorder, clock, random } = this.o;
    this.sent++;
    const user = Math.floor(random() * (this.o.users ?? 100_000));
    const internal = this.o.internalHeader && user < (this.o.users ?? 100_000) * (this.o.internalShare ?? 0);
    const headers =
      internal && this.o.internalHeader
        ? { [this.o.internalHeader.name.toLowerCase()]: this.o.internalHeader.value }
        : {};
    const tg = this.o.resolve
      ? this.o.resolve(user, random())
      : lb.pick(this.o.listenerArn, headers, this.cookies.get(user), random());
    const running = tg ? backends.get(tg) : undefined;
    if (!tg || !running) {
      this.served.elbErrors++;
      return;
    }
    const now = clock.now().getTime();
    this.cookies.set(user, tg);
    if (crashed(running.version.profile, ageSeconds(running, now))) {
      recorder.recordNoResponse(tg, now, 'refused');
      this.served.add(tg, BAD_GATEWAY, Boolean(internal));
      return;
    }
    const { status, latencyMs } = answer(running, now, random);
    this.o.xray?.record(tg, now, running.version.profile, status, latencyMs);
    this.o.app?.served(tg, now, running.version.profile, status);
    recorder.record(tg, now, status, latencyMs);
    this.served.add(tg, status, Boolean(internal));
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
  }
}

/**
 * The real thing on loopback: one HTTP server per target group (serving whatever version runs behind it), a
 * reverse proxy playing the ALB listener (weights, stickiness cookie, header rule) that records the ALB metrics,
 * and a traffic generator with many users and their cookies.
 */
export class HttpTraffic implements DataPlane {
  readonly served: ServedCounts;
  sent = 0;
  private readonly servers: http.Server[] = [];
  private readonly ports = new Map<string, number>();
  private proxyPort = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly clientAgent = new http.Agent({ keepAlive: true, maxSockets: 64 });
  private readonly cookies = new Map<number, string>();
  private inFlight = 0;
  /** Target groups whose server's process crashed (closed, refusing connections), with that server. */
  private readonly crashedServers = new Map<string, http.Server>();

  constructor(private readonly o: Common & { targetGroups: string[] }) {
    this.served = o.served ?? new ServedCounts();
  }

  private listen(server: http.Server): Promise<number> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
    });
  }

  async start(): Promise<void> {
    const { backends, clock, random } = this.o;
    for (const tg of this.o.targetGroups) {
      const server = http.createServer((req, res) => {
        const running = backends.get(tg);
        if (!running) {
          res.writeHead(503).end();
          return;
        }
        const now = clock.now().getTime();
        if (crashed(running.version.profile, ageSeconds(running, now))) {
          // The process dies: its listening socket and every connection go (new ones are refused).
          this.crash(tg, server);
          return;
        }
        const { status, latencyMs } = answer(running, now, random);
        this.o.xray?.record(tg, now, running.version.profile, status, latencyMs);
        this.o.app?.served(tg, now, running.version.profile, status);
        setTimeout(() => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-version': running.version.tag });
          res.end(JSON.stringify({ version: running.version.tag, ok: status < 500 }));
        }, latencyMs);
        req.resume();
      });
      this.servers.push(server);
      this.ports.set(tg, await this.listen(server));
    }
    // A new version behind a crashed target group's server starts listening again, on the same port.
    backends.on('change', (tg: string, running: RunningVersion | undefined) => {
      const server = this.crashedServers.get(tg);
      const port = this.ports.get(tg);
      if (!server || port === undefined || !running) return;
      if (crashed(running.version.profile, ageSeconds(running, clock.now().getTime()))) return;
      this.crashedServers.delete(tg);
      server.listen(port, '127.0.0.1');
    });
    const proxy = http.createServer((req, res) => this.proxy(req, res));
    this.servers.push(proxy);
    this.proxyPort = await this.listen(proxy);
    this.generate();
  }

  private crash(tg: string, server: http.Server): void {
    if (this.crashedServers.has(tg)) return;
    this.crashedServers.set(tg, server);
    server.close();
    server.closeAllConnections();
  }

  private proxy(req: http.IncomingMessage, res: http.ServerResponse): void {
    const { lb, recorder, clock, random, backends } = this.o;
    const sticky = /(?:^|;\s*)AWSALBTG=([^;]+)/.exec(req.headers.cookie ?? '')?.[1];
    const headers = Object.fromEntries(
      Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
    );
    const marker = this.o.internalHeader;
    const internal = marker !== undefined && headers[marker.name.toLowerCase()] === marker.value;
    const tg = lb.pick(
      this.o.listenerArn,
      headers,
      sticky ? decodeURIComponent(sticky) : undefined,
      random(),
    );
    const port = tg ? this.ports.get(tg) : undefined;
    if (!tg || !port || !backends.get(tg)) {
      this.served.elbErrors++;
      res.writeHead(503).end('no healthy targets');
      return;
    }
    const started = performance.now();
    const upstream = http.request(
      {
        host: '127.0.0.1',
        port,
        path: req.url,
        method: req.method,
        agent: this.agent,
        headers: { 'x-forwarded-for': '127.0.0.1' },
      },
      (up) => {
        const chunks: Buffer[] = [];
        up.on('data', (c: Buffer) => chunks.push(c));
        up.on('end', () => {
          const status = up.statusCode ?? 502;
          recorder.record(tg, clock.now().getTime(), status, performance.now() - started);
          this.served.add(tg, status, internal);
          const out: http.OutgoingHttpHeaders = {
            'content-type': up.headers['content-type'] ?? 'text/plain',
          };
          if (lb.appliedState(this.o.listenerArn)?.stickinessSeconds)
            out['set-cookie'] = `${STICKY_COOKIE}=${encodeURIComponent(tg)}; Path=/`;
          res.writeHead(status, out).end(Buffer.concat(chunks));
        });
      },
    );
    // Whether the connection to the target was established: a pooled keep-alive socket is, a new one once it connects.
    let connected = false;
    upstream.on('socket', (socket) => {
      if (!socket.connecting) connected = true;
      else socket.once('connect', () => (connected = true));
    });
    upstream.on('error', () => {
      // No target response: RequestCount +1, no target code, no TargetResponseTime; a connection that could not be
      // established is also a TargetConnectionErrorCount ("CloudWatch metrics for your Application Load Balancer").
      recorder.recordNoResponse(tg, clock.now().getTime(), connected ? 'reset' : 'refused');
      this.served.add(tg, BAD_GATEWAY, internal);
      if (!res.headersSent) res.writeHead(BAD_GATEWAY);
      res.end();
    });
    req.pipe(upstream);
  }

  private generate(): void {
    const users = this.o.users ?? 100_000;
    let carry = 0;
    let last = performance.now();
    this.timer = setInterval(() => {
      const now = performance.now();
      carry += (this.o.rps * (now - last)) / 1000;
      last = now;
      const n = Math.floor(carry);
      carry -= n;
      for (let i = 0; i < n; i++) {
        if (this.inFlight > 256) break; // the generator never piles up faster than the machine can serve
        const user = Math.floor(this.o.random() * users);
        const headers: http.OutgoingHttpHeaders = {};
        const cookie = this.cookies.get(user);
        if (cookie) headers.cookie = cookie;
        if (this.o.internalHeader && user < users * (this.o.internalShare ?? 0))
          headers[this.o.internalHeader.name] = this.o.internalHeader.value;
        this.sent++;
        this.inFlight++;
        const req = http.request(
          { host: '127.0.0.1', port: this.proxyPort, path: '/', agent: this.clientAgent, headers },
          (res) => {
            const set = res.headers['set-cookie']?.[0];
            if (set) this.cookies.set(user, set.split(';')[0] ?? '');
            res.resume();
            res.on('end', () => this.inFlight--);
          },
        );
        req.on('error', () => this.inFlight--);
        req.end();
      }
    }, 10);
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await new Promise((r) => setTimeout(r, 50));
    this.agent.destroy();
    this.clientAgent.destroy();
    await Promise.all(
      this.servers.map(
        (s) =>
          new Promise<void>((resolve) => {
            s.closeAllConnections();
            s.close(() => resolve());
          }),
      ),
    );
  }
}
