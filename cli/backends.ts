/**
 * The backends a command runs on: the operations in this process (against AWS), or a running sandbox through
 * its control endpoint.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { CONTROL_INFO_FILE, type ControlInfo } from '../sandbox/control';
import type { Operations } from './operations';
import { type DeployRequest, OperationError } from './results';

/** A command the backend does not know, reported as a usage error (exit code 2). */
export class UsageError extends Error {}

/** The paths the sandbox backend needs from the command's environment. */
interface SandboxIo {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

/** A backend runs one named operation: locally (AWS) or through the sandbox's control API. */
export type Backend = (op: string, args: Record<string, unknown>) => Promise<unknown>;

export function local(ops: Operations): Backend {
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
      case 'pause':
        return ops.pause(s, a.reason as string | undefined);
      case 'resume':
        return ops.resume(s);
      case 'retry':
        return ops.retry(s);
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

export function sandbox(io: SandboxIo): Backend {
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
