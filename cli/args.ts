/** The command line of `canary`: its options, the commands and their arguments, checked before anything runs. */
import { parseArgs } from 'node:util';
import { parseDuration } from './wait';

/** What a command takes, and which backend clients it needs. */
interface CommandSpec {
  positionals: string[];
  optional?: string[];
  store?: boolean;
  sfn?: boolean;
  events?: boolean;
}

export const COMMANDS: Record<string, CommandSpec> = {
  status: { positionals: [], optional: ['service'], store: true },
  history: { positionals: ['service'], store: true },
  approve: { positionals: ['service'], store: true, sfn: true },
  reject: { positionals: ['service'], store: true, sfn: true },
  abort: { positionals: ['service'], store: true, sfn: true },
  promote: { positionals: ['service'], store: true, sfn: true },
  pause: { positionals: ['service'], store: true },
  resume: { positionals: ['service'], store: true },
  retry: { positionals: ['service'], store: true, sfn: true },
  start: { positionals: ['service'], events: true },
  wait: { positionals: ['rolloutId'], store: true },
  release: { positionals: ['service', 'digest'], store: true },
  report: { positionals: ['rolloutId'], store: true },
  check: { positionals: [], optional: ['service'] },
};

const OPTION_USE: Record<string, string[]> = {
  reason: ['approve', 'reject', 'abort', 'pause'],
  full: ['promote'],
  image: ['start'],
  out: ['report'],
  limit: ['history'],
  wait: ['start'],
  timeout: ['start', 'wait'],
};

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      sandbox: { type: 'boolean', default: false },
      stack: { type: 'string' },
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

export type Options = ReturnType<typeof parse>['values'];

/** A command line that names a command with valid arguments. */
export interface CommandLine {
  command: string;
  spec: CommandSpec;
  args: Record<string, unknown>;
  options: Options;
  timeoutMs?: number;
}

/** The command line read: a command to run, help to show, or what is wrong with it (a usage error). */
type ReadCommandLine = CommandLine | { help: 'canary' | 'check' } | { usage: string };

export function readCommandLine(argv: string[]): ReadCommandLine {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return { usage: (error as Error).message };
  }
  const { values: v, positionals } = parsed;
  const [command, ...rest] = positionals;
  if (v.help && command === 'check') return { help: 'check' };
  if (v.help || command === 'help') return { help: 'canary' };
  if (!command) return { usage: 'missing command' };
  const spec = COMMANDS[command];
  if (!spec) return { usage: `unknown command "${command}" (commands: ${Object.keys(COMMANDS).join(', ')})` };
  for (const [option, commands] of Object.entries(OPTION_USE)) {
    const given = v[option as keyof typeof v];
    if (given !== undefined && given !== false && !commands.includes(command))
      return { usage: `--${option} does not apply to ${command}` };
  }
  if (v.sandbox && v.stack !== undefined)
    return { usage: '--stack names a stack in AWS: not with --sandbox' };
  const args = positionalArgs(command, spec, rest);
  if (typeof args === 'string') return { usage: args };
  const optionArgs = commandOptions(command, v, args);
  if (typeof optionArgs === 'string') return { usage: optionArgs };
  return { command, spec, args, options: v, ...optionArgs };
}

/** The command's positional arguments by name, or what is missing or extra. */
function positionalArgs(
  command: string,
  spec: CommandSpec,
  rest: string[],
): Record<string, unknown> | string {
  const max = spec.positionals.length + (spec.optional?.length ?? 0);
  if (rest.length < spec.positionals.length) return `${command}: missing <${spec.positionals[rest.length]}>`;
  if (rest.length > max) return `${command}: unexpected argument "${rest[max]}"`;
  const args: Record<string, unknown> = {};
  [...spec.positionals, ...(spec.optional ?? [])].forEach((name, i) => {
    if (rest[i] !== undefined) args[name] = rest[i];
  });
  return args;
}

/** The options' values added to `args` (and the --timeout, in ms), or what is wrong with one. */
function commandOptions(
  command: string,
  v: Options,
  args: Record<string, unknown>,
): { timeoutMs?: number } | string {
  if (v.reason !== undefined) args.reason = v.reason;
  if (v.full) args.full = true;
  if (command === 'start') {
    if (!v.image) return 'start: missing --image <sha256:digest | tag@sha256:digest>';
    args.image = v.image;
  }
  let timeoutMs: number | undefined;
  if (v.timeout !== undefined) {
    if (command === 'start' && !v.wait) return '--timeout goes with --wait';
    timeoutMs = parseDuration(v.timeout);
    if (timeoutMs === undefined)
      return `--timeout must be a duration such as 30s, 10m or 1h30m, got "${v.timeout}"`;
  }
  if (command === 'history') {
    const limit = v.limit === undefined ? 10 : Number(v.limit);
    if (!Number.isInteger(limit) || limit < 1 || limit > 100)
      return '--limit must be a whole number from 1 to 100';
    args.limit = limit;
  }
  return timeoutMs !== undefined ? { timeoutMs } : {};
}
