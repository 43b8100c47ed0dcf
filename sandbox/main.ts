/**
 * `npm start`: real rollouts on this machine, no AWS account. The real state machine runs on the local Step
 * Functions engine, every task is the real handler, and users' requests go through a local load balancer.
 */
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONTROL_INFO_FILE, type ControlInfo } from './control';
import { eventLine } from './event-bus';
import { MANY_DESCRIPTION, MANY_RPS, MANY_SCENARIO, runManyCli } from './many-cli';
import { unsupportedNode } from './node-version';
import { renderHtml, summaryLines } from './report';
import { type RunOptions, runRollouts, runRolloutsKeepingTime, SCENARIOS } from './run';
import { describeShortfall } from './timekeeping';

/** The run could not keep its compressed time (sandbox/timekeeping.ts): no outcome is reported. */
const EXIT_INVALID = 3;

const SANDBOX_FILE = resolve(process.env.CANARY_SANDBOX_FILE ?? CONTROL_INFO_FILE);

const HELP = `Usage: npm start -- [options]

Runs canary rollouts end to end on this machine: the real state machine (statemachine/canary.asl.json) on a
local Step Functions engine, the real task handlers, a local ALB with weighted target groups, app versions on
loopback, live traffic, a CloudWatch-style alarm, and PagerDuty/SNS receivers. Time is compressed, never skipped.

Options:
  --scenario <name>   which rollouts to run (default: demo)
${Object.entries(SCENARIOS)
  .map(([name, s]) => `                        ${name.padEnd(8)} ${s.description}`)
  .join('\n')}
                        ${MANY_SCENARIO.padEnd(8)} ${MANY_DESCRIPTION}
  --scale <n>         rollout seconds per real second (default: 30)
  --rps <n>           requests per second through the load balancer (default: 1000; many: 8000)
  --traffic <kind>    http (real HTTP on loopback, default) or synthetic (in-process, seeded; many's default)
  --seed <n>          random seed (default: 42)
  --report-dir <dir>  where to write report.json and report.html (default: reports/<timestamp>)
  --json              print only the summary as JSON
  --events            print each rollout state-change event (Canary Rollout State Change), one line each
                      (to stderr with --json)
  -h, --help          show this help

Exit codes: 0 done, 1 an invariant broke or a task erred, 2 bad usage, 3 the run is invalid: this machine could
not keep the compressed time (timers late, fewer requests than planned), so no outcome is reported. At the default
scale such a run is made once more at a lower scale first.
`;

function fail(message: string): never {
  process.stderr.write(`error: ${message}\n\n${HELP}`);
  process.exit(2);
}

function positive(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) fail(`--${name} must be a positive number, got "${value}"`);
  return n;
}

function parse() {
  return parseArgs({
    options: {
      scenario: { type: 'string', default: 'demo' },
      scale: { type: 'string' },
      rps: { type: 'string' },
      traffic: { type: 'string' },
      seed: { type: 'string' },
      'report-dir': { type: 'string' },
      json: { type: 'boolean', default: false },
      events: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
}

type Values = ReturnType<typeof parse>['values'];

/** The command line, checked (undefined: --help); exits with usage on a bad one. */
function readOptions() {
  let args: ReturnType<typeof parse>;
  try {
    args = parse();
  } catch (error) {
    fail((error as Error).message);
  }
  const v = args.values;
  if (v.help) return undefined;
  const many = v.scenario === MANY_SCENARIO;
  const scenario = SCENARIOS[v.scenario];
  if (!scenario && !many)
    fail(
      `unknown scenario "${v.scenario}"; choose one of ${[...Object.keys(SCENARIOS), MANY_SCENARIO].join(', ')}`,
    );
  return { v, scenario, many, traffic: trafficKind(v.traffic ?? (many ? 'synthetic' : 'http')) };
}

function trafficKind(value: string): RunOptions['traffic'] {
  if (value === 'http' || value === 'synthetic') return value;
  fail(`--traffic must be http or synthetic, got "${value}"`);
}

async function main(): Promise<void> {
  const oldNode = unsupportedNode(process.version);
  if (oldNode) fail(oldNode);
  const read = readOptions();
  if (!read) {
    process.stdout.write(HELP);
    return;
  }
  const { v, scenario, many, traffic } = read;
  const scale = positive('scale', v.scale, 30);
  if (scale < 1 || scale > 600) fail(`--scale must be between 1 and 600, got ${scale}`);
  const rps = positive('rps', v.rps, many ? MANY_RPS : 1000);
  const seed = positive('seed', v.seed, 42);
  if (!scenario) {
    process.exitCode = await runManyCli({
      scale,
      rps,
      traffic,
      seed,
      json: v.json,
      reportDir: v['report-dir'],
    });
    return;
  }

  const say = v.json ? () => undefined : (line: string) => process.stdout.write(`${line}\n`);
  say(
    `Sandbox: scenario ${v.scenario} · time ×${scale} · ${rps} req/s over ${traffic === 'http' ? 'HTTP on loopback' : 'synthetic traffic'}`,
  );
  const runOptions: Omit<RunOptions, 'scale' | 'rps'> = {
    traffic,
    seed,
    versions: scenario.versions,
    ...(scenario.service ? { service: scenario.service } : {}),
    ...(scenario.rolloutTimeoutMs ? { rolloutTimeoutMs: scenario.rolloutTimeoutMs } : {}),
    ...(scenario.answerPauses ? { answerPauses: scenario.answerPauses } : {}),
    onStarted: announceControl(v, say),
    progress: say,
  };
  // A machine that cannot keep the default scale gets one more run at a scale it can keep; a scale asked for with
  // --scale is kept.
  const options = { ...runOptions, scale, rps };
  const result =
    v.scale === undefined
      ? await runRolloutsKeepingTime(options, (first, again) => {
          process.stderr.write(
            `${describeShortfall(first)}\nRunning again at time ×${again.scale}, ${again.rps} req/s.\n`,
          );
          say(`Sandbox: scenario ${v.scenario} · time ×${again.scale} · ${again.rps} req/s (again, slower)`);
        })
      : { ...(await runRollouts(options)), scale, rps };
  const dir = writeReports(v, result);
  printSummary(v, say, result, dir);
  setExitCode(result);
}

/** Once the world runs: its events printed (--events), and the control endpoint written where the CLI finds it. */
function announceControl(v: Values, say: (line: string) => void): RunOptions['onStarted'] {
  let cleanupRegistered = false;
  return (w) => {
    if (v.events) {
      const out = v.json ? process.stderr : process.stdout;
      w.eventBus.on('event', (e) => out.write(`${eventLine(e)}\n`));
    }
    // Where `npx canary … --sandbox` finds this run: the control endpoint and its bearer token (owner-only).
    mkdirSync(dirname(SANDBOX_FILE), { recursive: true });
    const info: ControlInfo = {
      url: w.control.url,
      token: w.control.token,
      pid: process.pid,
      services: w.configs.map((c) => c.service),
    };
    writeFileSync(SANDBOX_FILE, `${JSON.stringify(info)}\n`, { mode: 0o600 });
    say(`Control endpoint ${w.control.url} (for \`npx canary … --sandbox\`; details in ${SANDBOX_FILE})`);
    if (cleanupRegistered) return;
    cleanupRegistered = true;
    const cleanup = () => rmSync(SANDBOX_FILE, { force: true });
    process.once('exit', cleanup);
    for (const signal of ['SIGINT', 'SIGTERM'] as const)
      process.once(signal, () => {
        cleanup();
        process.exit(130);
      });
  };
}

type Result = Awaited<ReturnType<typeof runRollouts>> & { scale: number; rps: number };

/** report.json and report.html in the report directory; returns the directory. */
function writeReports(v: Values, result: Result): string {
  const { traces, wallMs, timekeeping } = result;
  const ran = { scale: result.scale, rps: result.rps };
  const dir = resolve(v['report-dir'] ?? join('reports', new Date().toISOString().replace(/[:.]/g, '-')));
  mkdirSync(dir, { recursive: true });
  writeFileSync(
    join(dir, 'report.json'),
    `${JSON.stringify({ scenario: v.scenario, ...ran, wallMs, timekeeping, traces }, null, 2)}\n`,
  );
  writeFileSync(join(dir, 'report.html'), renderHtml(traces, `Canary rollouts — scenario ${v.scenario}`));
  return dir;
}

/** The outcome of each rollout (JSON with --json), or why there is none. */
function printSummary(v: Values, say: (line: string) => void, result: Result, dir: string): void {
  const { traces, wallMs, world, timekeeping } = result;
  if (v.json) {
    const summary = {
      rollouts: traces.map(
        ({ summary: { wallMs: _w, rolloutId: _r, image: _i, service: _s, ...rest } }) => rest,
      ),
      timekeeping,
      ...(timekeeping.valid ? {} : { invalid: describeShortfall(timekeeping) }),
    };
    process.stdout.write(`${JSON.stringify(summary)}\n`);
  } else if (!timekeeping.valid) {
    say('');
    say(`Wall time ${(wallMs / 1000).toFixed(1)} s. No outcomes: the run is invalid (see above).`);
  } else {
    say('');
    for (const line of summaryLines(traces)) say(line);
    const pages = world.receiver.messages.filter((m) => m.channel === 'pagerduty').length;
    const sns = world.receiver.messages.filter((m) => m.channel === 'sns').length;
    say('');
    say(`Notifications received: ${sns} SNS, ${pages} PagerDuty. Requests sent: ${world.traffic.sent}.`);
    say(`Wall time ${(wallMs / 1000).toFixed(1)} s. Report: ${join(dir, 'report.html')}`);
  }
}

/** 1 when an invariant broke or a task erred, EXIT_INVALID when the run could not keep its time. */
function setExitCode({ world, timekeeping }: Result): void {
  if (world.violations.length > 0 || world.errors.length > 0) {
    process.stderr.write(
      `invariant violations: ${JSON.stringify(world.violations)}; errors: ${world.errors.map(String).join('; ')}\n`,
    );
    process.exitCode = 1;
  } else if (!timekeeping.valid) {
    process.stderr.write(`${describeShortfall(timekeeping)}\n`);
    process.exitCode = EXIT_INVALID;
  }
}

main().catch((error) => {
  process.stderr.write(`${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
