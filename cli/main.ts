/**
 * `canary`: the operator CLI. Against AWS (TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME, AWS_REGION) or, with
 * --sandbox, against a running `npm start` sandbox (its control endpoint, from reports/.sandbox.json).
 * Exit codes: 0 ok, 1 the operation failed, 2 usage.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { awsOperations, MissingSettingError } from './aws';
import { OperationError, type Operations, type StatusRow } from './operations';

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
                                   ECR repository), sha256:<digest> or <tag>@sha256:<digest>
  release <service> <digest>       lift the quarantine of an image for a service
  report <rollout-id> [--out <f>]  write the rollout's self-contained HTML report (default <rollout-id>.html)

Options:
  --sandbox        talk to the running local sandbox (npm start) instead of AWS
  --json           machine-readable output
  -h, --help       show this help

Environment (AWS): TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME (default: default), AWS_REGION,
SERVICES_JSON (optional: refuse unknown services by name). Sandbox: CANARY_SANDBOX_FILE
(default: reports/.sandbox.json).

Exit codes: 0 ok, 1 the operation failed, 2 usage error.
`;

export interface Io {
  stdout: (s: string) => void;
  stderr: (s: string) => void;
  env: NodeJS.ProcessEnv;
  cwd: string;
}

const defaultIo = (): Io => ({
  stdout: (s) => process.stdout.write(s),
  stderr: (s) => process.stderr.write(s),
  env: process.env,
  cwd: process.cwd(),
});

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
  const file = resolve(io.cwd, io.env.CANARY_SANDBOX_FILE ?? 'reports/.sandbox.json');
  let info: { url: string; token: string; pid?: number };
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
      );
    }
    const body = (await res.json().catch(() => ({}))) as { ok?: boolean; result?: unknown; error?: string };
    if (!res.ok || !body.ok) throw new OperationError(body.error ?? `the sandbox answered ${res.status}`);
    return body.result;
  };
}

function table(rows: StatusRow[]): string {
  if (rows.length === 0) return 'No rollouts.\n';
  const head = ['SERVICE', 'ROLLOUT', 'IMAGE', 'STATUS', 'STEP', 'CANARY', 'WAITING', 'VERDICT', 'UPDATED'];
  const cells = rows.map((r) => [
    r.service,
    r.rolloutId,
    r.image,
    r.status,
    r.step === null ? '-' : String(r.step + 1),
    r.canaryPercent === null ? '-' : `${r.canaryPercent}%`,
    r.waiting ?? '-',
    r.verdict ?? '-',
    r.updatedAt.replace('T', ' ').slice(0, 19),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] ?? '').length)));
  const line = (c: string[]) =>
    `${c
      .map((x, i) => x.padEnd(widths[i] ?? 0))
      .join('  ')
      .trimEnd()}\n`;
  const outcomes = rows
    .filter((r) => r.outcome)
    .map((r) => `  ${r.rolloutId}: ${r.outcome}\n`)
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
  release: { positionals: ['service', 'digest'], store: true },
  report: { positionals: ['rolloutId'], store: true },
};

const OPTION_USE: Record<string, string[]> = {
  reason: ['approve', 'reject', 'abort'],
  full: ['promote'],
  image: ['start'],
  out: ['report'],
  limit: ['history'],
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
  if (command === 'history') {
    const limit = v.limit === undefined ? 10 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return usage('--limit must be a whole number from 1 to 100');
    args.limit = limit;
  }

  try {
    const run = backend ?? (v.sandbox ? sandbox(io) : local(awsOperations(io.env, spec)));
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
      io.stdout(v.json ? `${JSON.stringify(rows)}\n` : table(rows));
      return 0;
    }
    const r = result as { message: string };
    io.stdout(v.json ? `${JSON.stringify(result)}\n` : `${r.message}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) return usage(error.message);
    const message =
      error instanceof OperationError || error instanceof MissingSettingError
        ? error.message
        : `${(error as Error).name}: ${(error as Error).message}`;
    io.stderr(v.json ? `${JSON.stringify({ ok: false, error: message })}\n` : `canary: ${message}\n`);
    return 1;
  }
}
