/**
 * `canary`: the operator CLI. Against AWS (TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME, AWS_REGION) or, with
 * --sandbox, against a running `npm start` sandbox (its control endpoint, from reports/.sandbox.json).
 * Exit codes: 0 ok, 1 the operation failed, 2 usage; `wait` and `start --wait`: 0 promoted, 1 rolled back (or the
 * rollout failed or could not be followed), 2 usage or unknown rollout, 3 timed out (the rollout goes on).
 */
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { type CommandLine, readCommandLine } from './args';
import { awsOperations, MissingSettingError } from './aws';
import { type Backend, local, sandbox, UsageError } from './backends';
import { headlines, table, terminalSafe, toJson } from './output';
import {
  type DeployRequest,
  OperationError,
  type RequestState,
  type RolloutProgress,
  type StartResult,
  type StatusRow,
} from './results';
import { StackSettingError, withStackSettings } from './stack';
import { AWS_POLL, SANDBOX_POLL, WAIT_EXIT, waitForRollout } from './wait';

export const HELP = `Usage: canary <command> [arguments] [options]

Watch and steer canary rollouts.

Commands:
  status [service]                 rollouts in progress (or a service's current/latest rollout)
  history <service>                a service's recent rollouts, newest first (--limit <n>, default 10)
  approve <service>                approve the step waiting for approval
  reject <service> [--reason <r>]  reject it: the rollout rolls back
  abort <service> [--reason <r>]   roll back now, whatever the rollout is doing (paused too); 100% goes on
                                   stable at once when your role may change the listener
  pause <service> [--reason <r>]   hold the canary's share where it is: analyses go on and can still roll
                                   back; no step raises the share until \`resume\`
  resume <service>                 let the plan go on from where it was held
  retry <service>                  after a pause on a failed analysis (analysis.onFailure "pause"): run the
                                   failed step again (its weight back, bake and analyses); \`abort\` rolls back
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
  --stack <name>   the controller's CloudFormation stack (default: CANARY_STACK): its outputs give the
                   settings below, and its config table the services
  --json           machine-readable output (wait, start --wait: one JSON object per line, the last of
                   type "result")
  --wait           start: wait for the rollout's outcome
  --timeout <d>    wait, start --wait: stop waiting after d (30s, 10m, 1h30m; default: until the outcome)
  -h, --help       show this help

Environment (AWS): AWS_REGION and CANARY_STACK (or --stack), or each setting on its own: TABLE_NAME,
STATE_MACHINE_ARN, EVENT_BUS_NAME (default: canary-controller), SERVICES_JSON (optional: refuse unknown services
by name); a variable set wins over the stack's output. Sandbox: CANARY_SANDBOX_FILE
(default: reports/.sandbox.json).

Exit codes: 0 ok, 1 the operation failed, 2 usage error. wait and start --wait: 0 promoted; 1 rolled back,
refused, or the rollout could not be read; 2 usage error or unknown rollout; 3 the timeout passed first (nothing
was changed: the rollout goes on).
`;

const CHECK_HELP = `Usage: canary check [service] [--json]

Look at the AWS account and report, per service (every service of the stack, or the one named), what would
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
  metrics        each custom metric (analysis.metrics, the ECS deployer's CPU and memory) has data for both
                 versions' dimensions, metric-math inputs each (ListMetrics lists only metrics with data in the
                 last two weeks: none there is "no data", not "does not exist")
  hooks          each Lambda hook's function exists in its region and is not Failed; each HTTPS hook's URL is
                 https (it is not called); run-hook's lambda:InvokeFunction on each function is in the iam check
  iam            each controller function's role may make its calls on the service's resources
                 (iam:SimulatePrincipalPolicy, with the context keys the policies test), when CONTROLLER_ROLES
                 names the roles

Options:
  --json           {"ok": boolean, "services": [{"service", "findings": [{"check", "status", "message", "fix"}]}]}
  -h, --help       show this help

Options: --stack <name> (or CANARY_STACK): the services from the stack's config table and CONTROLLER_ROLES from
its outputs. Environment: AWS_REGION; without a stack, SERVICES_JSON (the service configs, as the stack has them)
and CONTROLLER_ROLES (optional: the stack's ControllerRoles output, a JSON object of function name → role ARN;
without it the IAM check is reported as not checked).
Your credentials need elasticloadbalancing:Describe*, ecs:DescribeServices and DescribeTaskDefinition,
cloudwatch:DescribeAlarms and ListMetrics, ecr:DescribeRepositories, xray:GetGroups,
lambda:GetFunctionConfiguration and ListTags (Lambda hooks), iam:ListRoleTags (with CONTROLLER_TAG) and
iam:SimulatePrincipalPolicy on the controller's roles; what they may not read is reported as not checked.

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

export async function main(argv: string[], io: Io = defaultIo(), backend?: Backend): Promise<number> {
  const usage = (message: string) => {
    io.stderr(`canary: ${message}\nRun \`canary --help\` for usage.\n`);
    return 2;
  };
  const line = readCommandLine(argv);
  if ('usage' in line) return usage(line.usage);
  if ('help' in line) {
    io.stdout(line.help === 'check' ? CHECK_HELP : HELP);
    return 0;
  }
  const { command, spec, args, options: v } = line;
  if (command === 'check') {
    if (v.sandbox) return usage('check looks at an AWS account: it has no --sandbox mode');
    return check(io, args.service as string | undefined, v.json === true, v.stack);
  }

  try {
    const needs = command === 'start' && v.wait ? { ...spec, store: true } : spec;
    const run =
      backend ??
      (v.sandbox ? sandbox(io) : local(awsOperations(await withStackSettings(io.env, v.stack), needs)));
    if (command === 'wait' || (command === 'start' && v.wait)) return await follow(run, line, io);
    return print(line, await run(command, args), io);
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    const message =
      error instanceof OperationError ||
      error instanceof MissingSettingError ||
      error instanceof StackSettingError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(v.json ? `${toJson({ ok: false, error: message })}\n` : `canary: ${terminalSafe(message)}\n`);
    return 1;
  }
}

/** `wait`, and `start --wait`: the request made, then the rollout followed to its end. */
async function follow(run: Backend, line: CommandLine, io: Io): Promise<number> {
  const { command, args, options: v, timeoutMs } = line;
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

/** What a command answered: the report written to its file, rows as a table, or the message. */
function print(line: CommandLine, result: unknown, io: Io): number {
  const { command, options: v } = line;
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
}

/** `canary check`: loaded on demand, so other commands never load its SDK clients (IAM, ECS, ELB, CloudWatch). */
async function check(io: Io, service: string | undefined, json: boolean, stack?: string): Promise<number> {
  const { checkSettings, CheckSettingError } = await import('./check/settings');
  const { checkClients } = await import('./check/reader');
  const { runCheck } = await import('./check/run');
  const { checkJson, checkText } = await import('./check/text');
  const { hasErrors } = await import('./check/findings');
  try {
    const settings = checkSettings(await withStackSettings(io.env, stack));
    const reports = await runCheck(settings, checkClients(settings.region), service);
    io.stdout(json ? checkJson(reports) : checkText(reports));
    return hasErrors(reports) ? 1 : 0;
  } catch (error) {
    const message =
      error instanceof CheckSettingError || error instanceof StackSettingError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(json ? `${JSON.stringify({ ok: false, error: message })}\n` : `canary: ${message}\n`);
    return 1;
  }
}
