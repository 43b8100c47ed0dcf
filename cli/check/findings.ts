/**
 * What `canary check` reports: findings per service, each naming what is wrong and the fix. The checks are pure
 * functions over what the AWS APIs described (cli/check/reader.ts reads it), so every failure they know is a plain
 * test fixture.
 */

/** The areas a service is checked in, in the order the report lists them. */
const CHECKS = [
  'route',
  'target-groups',
  'stickiness',
  'authenticate',
  'header-rule',
  'ecs',
  'alarms',
  'repository',
  'xray',
  'metrics',
  'hooks',
  'tags',
  'iam',
] as const;
export type CheckName = (typeof CHECKS)[number];

/**
 * error: a rollout would fail or misroute traffic (exit code 1). warning: it works but deserves a look.
 * not-checked: the check could not run (no permission to read, or nothing to check it against).
 */
export type Status = 'ok' | 'warning' | 'error' | 'not-checked';

export interface Finding {
  check: CheckName;
  status: Status;
  message: string;
  /** What to do about it (absent for ok). */
  fix?: string;
}

export interface ServiceReport {
  service: string;
  findings: Finding[];
}

/**
 * One resource as a Describe call answered: found, known not to exist, or unreadable (access denied, throttled,
 * any other failure), with the reason.
 */
export type Read<T> = { found: T } | { missing: string } | { failed: string };

export const found = <T>(value: T): Read<T> => ({ found: value });

export function ok(check: CheckName, message: string): Finding {
  return { check, status: 'ok', message };
}
export function error(check: CheckName, message: string, fix: string): Finding {
  return { check, status: 'error', message, fix };
}
export function warning(check: CheckName, message: string, fix: string): Finding {
  return { check, status: 'warning', message, fix };
}
export function notChecked(check: CheckName, message: string, fix: string): Finding {
  return { check, status: 'not-checked', message, fix };
}

/** A Read that could not be made: not checked, with the reason and how to let the check read it. */
export function unreadable(check: CheckName, what: string, reason: string): Finding {
  return notChecked(
    check,
    `could not read ${what}: ${reason}`,
    'run the check with credentials that may call the read-only Describe* APIs it uses (see `canary check --help`)',
  );
}

export function hasErrors(reports: readonly ServiceReport[]): boolean {
  return reports.some((r) => r.findings.some((f) => f.status === 'error'));
}

/** Findings in report order: by check, errors first within one. */
export function sorted(findings: readonly Finding[]): Finding[] {
  const rank: Record<Status, number> = { error: 0, warning: 1, 'not-checked': 2, ok: 3 };
  return [...findings].sort(
    (a, b) => CHECKS.indexOf(a.check) - CHECKS.indexOf(b.check) || rank[a.status] - rank[b.status],
  );
}
