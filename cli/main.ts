/**
 * `canary`: the operator CLI. Against AWS (TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME, AWS_REGION) or, with
 * --sandbox, against a running `npm start` sandbox (its control endpoint, from reports/.sandbox.json).
 * Exit codes: 0 ok, 1 the operation failed, 2 usage; `wait` and `start --wait`: 0 promoted, 1 rolled back (or the
 * rollout failed or could not be followed), 2 usage or unknown rollout, 3 timed out (the rollout goes on).
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CONTROL_INFO_FILE, type ControlInfo } from '../sandbox/control';
import { awsOperations, MissingSettingError } from './aws';
import {
  type DeployRequest,
  OperationError,
  type Operations,
  type RequestState,
  type RolloutProgress,
  type StartResult,
  type StatusRow,
} from './operations';
import { headlines, terminalSafe, toJson } from './output';
import { AWS_POLL, parseDuration, SANDBOX_POLL, WAIT_EXIT, waitForRollout } from './wait';

export const HELP = `Usage: canary <command> [arguments] [options]

Watch and steer canary rollouts.

Commands:
  status [service]                 rollouts in progress (or a service's current/latest rollout)
  history <service>                a service's recent rollouts, newest first (--limit <n>, default 10)
  approve <service>                approve the step waiting for approval
  reject <service> [--reason <r>]  reject it: the rollout rolls back
  abort <service> [--reason <r>]   roll back now, whatever the rollout is doing
  promote <service> [--full]       end the current bake now (the step is analyzed at once);
                                   --full: skip to the last step (100%), still judged
  start <service> --image <ref>    request a rollout: ref is a tag (resolved to its digest in the service's
                                   ECR repository), sha256:<digest> or <tag>@sha256:<digest>; runs the
                                   image even if it ran, was superseded or was aborted before;
                                   --wait: then follow it as \`wait\` does
  wait <rollout-id>                follow a rollout to its end: a line per step, analysis and decision, then
                                   exit 0 promoted, 1 rolled back, 3 still running at --timeout
  release <service> <digest>       lift the quarantine of an image for a service
  report <rollout-id> [--out <f>]  write the rollout's self-contained HTML report (default <rollout-id>.html)
  check [service]                  preflight: look at the account and report what would fail a rollout
                                   (read-only; \`canary check --help\`)

Options:
  --sandbox        talk to the running local sandbox (npm start) instead of AWS
  --json           machine-readable output (wait, start --wait: one JSON object per line, the last of
                   type "result")
  --wait           start: wait for the rollout's outcome
  --timeout <d>    wait, start --wait: stop waiting after d (30s, 10m, 1h30m; default: until the outcome)
  -h, --help       show this help

Environment (AWS): TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME (default: canary-controller), AWS_REGION,
SERVICES_JSON (optional: refuse unknown services by name). Sandbox: CANARY_SANDBOX_FILE
(default: reports/.sandbox.json).

Exit codes: 0 ok, 1 the operation failed, 2 usage error. wait and start --wait: 0 promoted; 1 rolled back,
refused, or the rollout could not be read; 2 usage error or unknown rollout; 3 the timeout passed first (nothing
was changed: the rollout goes on).
`;

const CHECK_HELP = `Usage: canary check [service] [--json]

Look at the AWS account and report, per service (every service in SERVICES_JSON, or the one named), what would
make a rollout fail or misroute traffic, each finding with its fix. Read-only: Describe* calls and IAM policy
simulation, nothing is changed.

Checks (what Prepare would refuse is judged by the same code, in the same words):
  route          the listener exists; traffic.ruleArn is a rule of that listener, not its default rule; the
                 route forwards to the service's target groups (and to no others)
  target-groups  both exist, on the listener's load balancer (one on no load balancer never passes readiness)
  stickiness     sticky target groups (the controller keeps group stickiness on); no application cookies,
                 which do not work with weighted target groups
  authenticate   an authenticate-oidc route cannot be copied into the header rule (CreateRule needs the secret)
  header-rule    priority free (or the controller's own rule) and before the route rule's; at most 3 values per
                 condition and 5 per rule, counting the route's conditions the header rule copies
  ecs            the stable and canary services exist and are active, long ARN format, the ECS deployment
                 controller, registered in their target groups; the container and its registry; the task
                 definition family and the task and execution roles the config names
  alarms         every gating alarm exists (metric or composite)
  repository     the ECR repository exists
  xray           the X-Ray groups the analysis reads exist (when the config selects X-Ray statistics)
  iam            each controller function's role may make its calls on the service's resources
                 (iam:SimulatePrincipalPolicy, with the context keys the policies test), when CONTROLLER_ROLES
                 names the roles

Options:
  --json           {"ok": boolean, "services": [{"service", "findings": [{"check", "status", "message", "fix"}]}]}
  -h, --help       show this help

Environment: AWS_REGION, SERVICES_JSON (the service configs, as the stack has them), CONTROLLER_ROLES (optional:
the stack's ControllerRoles output, a JSON object of function name → role ARN; without it the IAM check is
reported as not checked).
Your credentials need elasticloadbalancing:Describe*, ecs:DescribeServices and DescribeTaskDefinition,
cloudwatch:DescribeAlarms, ecr:DescribeRepositories, xray:GetGroups and iam:SimulatePrincipalPolicy on the
controller's roles; what they may not read is reported as not checked.

Exit codes: 0 no errors (warnings and unchecked items may remain), 1 at least one error, 2 usage error.
`;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Wall clock and pause for `wait` (tests pass their own). */
  now?: () => number;
  sleep?: (ms: number) => Promise<void>;
}

const defaultIo = (): Io => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
});

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

class UsageError extends Error {}

/** A backend runs one named operation: locally (AWS) or through the sandbox's control API. */
type Backend = (op: string, args: Record<string, unknown>) => Promise<unknown>;

function local(ops: Operations): Backend {
  return async (op, a) => {
    const s = a.service as string;
    switch (op) {
      case 'status':
        return ops.status(a.service as string | undefined);
      case 'history':
        return ops.history(s, a.limit as number);
      case 'approve':
        return ops.approve(s, a.reason as string | undefined);
      case 'reject':
        return ops.reject(s, a.reason as string | undefined);
      case 'abort':
        return ops.abort(s, a.reason as string | undefined);
      case 'promote':
        return ops.promote(s, { full: a.full === true });
      case 'start':
        return ops.start(s, a.image as string);
      case 'locate':
        return ops.locate(a.request as DeployRequest);
      case 'progress':
        return ops.progress(a.rolloutId as string, a.since as string | undefined);
      case 'release':
        return ops.release(s, a.digest as string);
      case 'report': {
        const r = await ops.report(a.rolloutId as string);
        return { html: r.html, rolloutId: r.record.rolloutId };
      }
      default:
        throw new UsageError(`unknown command "${op}"`);
    }
  };
}

function sandbox(io: Io): Backend {
  const file = resolve(io.cwd, io.env.CANARY_SANDBOX_FILE ?? CONTROL_INFO_FILE);
  let info: ControlInfo;
  try {
    info = JSON.parse(readFileSync(file, 'utf8'));
  } catch {
    throw new OperationError(
      `no running sandbox found (${file} is missing): start one with \`npm start -- --scenario approval\``,
    );
  }
  return async (op, args) => {
    let res: Response;
    try {
      res = await fetch(`${info.url}/control/${op}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${info.token}`, 'content-type': 'application/json' },
        body: JSON.stringify(args),
      });
    } catch {
      throw new OperationError(
        `the sandbox at ${info.url} does not answer (has it stopped? ${file} may be stale)`,
        'unavailable',
      );
    }
    const body = (await res.json().catch(() => ({}))) as {
      ok?: boolean;
      result?: unknown;
      error?: string;
      code?: OperationError['code'];
    };
    if (!res.ok || !body.ok)
      throw new OperationError(
        body.error ?? `the sandbox answered ${res.status}`,
        res.status >= 500 ? 'unavailable' : (body.code ?? 'failed'),
      );
    return body.result;
  };
}

function table(rows: StatusRow[]): string {
  if (rows.length === 0) return 'No rollouts.\n';
  const head = ['SERVICE', 'ROLLOUT', 'IMAGE', 'STATUS', 'STEP', 'CANARY', 'WAITING', 'VERDICT', 'UPDATED'];
  const cells = rows.map((r) =>
    [
      r.service,
      r.rolloutId,
      r.image,
      r.status,
      r.step === null ? '-' : String(r.step + 1),
      r.canaryPercent === null ? '-' : `${r.canaryPercent}%`,
      r.waiting ?? '-',
      r.verdict ?? '-',
      r.updatedAt.replace('T', ' ').slice(0, 19),
    ].map(terminalSafe),
  );
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    `${c
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  const outcomes = rows
    .filter((r) => r.outcome)
    .map((r) => `  ${terminalSafe(r.rolloutId)}: ${terminalSafe(r.outcome ?? '')}\n`)
    .join('');
  return line(head) + cells.map(line).join('') + (outcomes ? `\nOutcomes:\n${outcomes}` : '');
}

const COMMANDS: Record<
  string,
  { positionals: string[]; optional?: string[]; store?: boolean; sfn?: boolean; events?: boolean }
> = {
  status: { positionals: [], optional: ['service'], store: true },
  history: { positionals: ['service'], store: true },
  approve: { positionals: ['service'], store: true, sfn: true },
  reject: { positionals: ['service'], store: true, sfn: true },
  abort: { positionals: ['service'], store: true, sfn: true },
  promote: { positionals: ['service'], store: true, sfn: true },
  start: { positionals: ['service'], events: true },
  wait: { positionals: ['rolloutId'], store: true },
  release: { positionals: ['service', 'digest'], store: true },
  report: { positionals: ['rolloutId'], store: true },
  check: { positionals: [], optional: ['service'] },
};

const OPTION_USE: Record<string, string[]> = {
  reason: ['approve', 'reject', 'abort'],
  full: ['promote'],
  image: ['start'],
  out: ['report'],
  limit: ['history'],
  wait: ['start'],
  timeout: ['start', 'wait'],
};

export async function main(argv: string[], io: Io = defaultIo(), backend?: Backend): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  function parse() {
    return parseArgs({
      args: argv,
      options: {
        sandbox: { type: 'boolean', default: false },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
        reason: { type: 'string' },
        full: { type: 'boolean', default: false },
        image: { type: 'string' },
        out: { type: 'string' },
        limit: { type: 'string' },
        wait: { type: 'boolean', default: false },
        timeout: { type: 'string' },
      },
      strict: true,
      allowPositionals: true,
    });
  }
  const usage = (message: string) => {
    io.stderr(`canary: ${message}\nRun \`canary --help\` for usage.\n`);
    return 2;
  };
  try {
    parsed = parse();
  } catch (error) {
    return usage((error as Error).message);
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help && command === 'check') {
    io.stdout(CHECK_HELP);
    return 0;
  }
  if (v.help || command === 'help') {
    io.stdout(HELP);
    return 0;
  }
  if (!command) return usage('missing command');
  const spec = COMMANDS[command];
  if (!spec) return usage(`unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')})`);
  for (const [option, commands] of Object.entries(OPTION_USE)) {
    const given = v[option as keyof typeof v];
    if (given !== undefined && given !== false && !commands.includes(command))
      return usage(`--${option} does not apply to ${command}`);
  }
  const max = spec.positionals.length + (spec.optional?.length ?? 0);
  if (rest.length < spec.positionals.length)
    return usage(`${command}: missing <${spec.positionals[rest.length]}>`);
  if (rest.length > max) return usage(`${command}: unexpected argument "${rest[max]}"`);
  const args: Record<string, unknown> = {};
  [...spec.positionals, ...(spec.optional ?? [])].forEach((name, i) => {
    if (rest[i] !== undefined) args[name] = rest[i];
  });
  if (v.reason !== undefined) args.reason = v.reason;
  if (v.full) args.full = true;
  if (command === 'start') {
    if (!v.image) return usage('start: missing --image <sha256:digest | tag@sha256:digest>');
    args.image = v.image;
  }
  let timeoutMs: number | undefined;
  if (v.timeout !== undefined) {
    if (command === 'start' && !v.wait) return usage('--timeout goes with --wait');
    timeoutMs = parseDuration(v.timeout);
    if (timeoutMs === undefined)
      return usage(`--timeout must be a duration such as 30s, 10m or 1h30m, got "${v.timeout}"`);
  }
  if (command === 'history') {
    const limit = v.limit === undefined ? 10 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return usage('--limit must be a whole number from 1 to 100');
    args.limit = limit;
  }

  if (command === 'check') {
    if (v.sandbox) return usage('check looks at an AWS account: it has no --sandbox mode');
    return check(io, args.service as string | undefined, v.json === true);
  }

  try {
    const needs = command === 'start' && v.wait ? { ...spec, store: true } : spec;
    const run = backend ?? (v.sandbox ? sandbox(io) : local(awsOperations(io.env, needs)));
    if (command === 'wait' || (command === 'start' && v.wait)) {
      const waitOptions = {
        json: v.json === true,
        poll: v.sandbox ? SANDBOX_POLL : AWS_POLL,
        ...(timeoutMs !== undefined ? { timeoutMs } : {}),
      };
      const waitIo = {
        stdout: io.stdout,
        stderr: io.stderr,
        now: io.now ?? (() => performance.now()),
        sleep: io.sleep ?? realSleep,
      };
      const reader = {
        locate: (request: DeployRequest) => run('locate', { request }) as Promise<RequestState>,
        progress: (rolloutId: string, since?: string) =>
          run('progress', { rolloutId, ...(since ? { since } : {}) }) as Promise<RolloutProgress>,
      };
      if (command === 'wait')
        return await waitForRollout(reader, { rolloutId: args.rolloutId as string }, waitOptions, waitIo);
      const started = (await run('start', args)) as StartResult;
      io.stdout(v.json ? `${toJson({ type: 'start', ...started })}\n` : `${terminalSafe(started.message)}\n`);
      if (started.refused) {
        io.stdout(
          v.json
            ? `${toJson({ type: 'result', outcome: 'refused', exitCode: WAIT_EXIT.failed, rolloutId: started.rolloutId, reason: started.refused })}\n`
            : `Refused: ${terminalSafe(started.refused)}\n`,
        );
        return WAIT_EXIT.failed;
      }
      return await waitForRollout(reader, { request: started.request }, waitOptions, waitIo);
    }
    const result = await run(command, args);
    if (command === 'report') {
      const { html, rolloutId } = result as { html: string; rolloutId: string };
      const out = resolve(io.cwd, v.out ?? `${rolloutId}.html`);
      writeFileSync(out, html);
      io.stdout(
        v.json ? `${JSON.stringify({ ok: true, rolloutId, file: out })}\n` : `Report written to ${out}\n`,
      );
      return 0;
    }
    if (command === 'status' || command === 'history') {
      const rows = result as StatusRow[];
      io.stdout(v.json ? `${toJson(rows)}\n` : headlines(rows) + table(rows));
      return 0;
    }
    const r = result as { message: string };
    io.stdout(v.json ? `${toJson(result)}\n` : `${terminalSafe(r.message)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    const message =
      error instanceof OperationError || error instanceof MissingSettingError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(v.json ? `${toJson({ ok: false, error: message })}\n` : `canary: ${terminalSafe(message)}\n`);
    return 1;
  }
}

/** `canary check`: loaded on demand, so other commands never load its SDK clients (IAM, ECS, ELB, CloudWatch). */
async function check(io: Io, service: string | undefined, json: boolean): Promise<number> {
  const { checkSettings, CheckSettingError } = await import('./check/settings');
  const { checkClients } = await import('./check/reader');
  const { runCheck } = await import('./check/run');
  const { checkJson, checkText } = await import('./check/text');
  const { hasErrors } = await import('./check/findings');
  try {
    const settings = checkSettings(io.env);
    const reports = await runCheck(settings, checkClients(settings.region), service);
    io.stdout(json ? checkJson(reports) : checkText(reports));
    return hasErrors(reports) ? 1 : 0;
  } catch (error) {
    const message =
      error instanceof CheckSettingError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(json ? `${JSON.stringify({ ok: false, error: message })}\n` : `canary: ${message}\n`);
    return 1;
  }
}
