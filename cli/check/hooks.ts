/**
 * The hooks of a service, as `canary check` reads them: each Lambda hook's function exists in its region (Lambda
 * GetFunctionConfiguration, in the ARN's region, a name in the controller's) and is not in the Failed state; each
 * HTTPS hook's URL parses and is https (no call is made: a hook answers rollouts, not checks). Whether run-hook's
 * role may invoke the functions is simulated with the other IAM calls (cli/check/permissions.ts).
 *
 * Lambda API reference, GetFunctionConfiguration: FunctionName is a name, an ARN or a partial ARN, a version or
 * alias appended; ResourceNotFoundException when the function (or the qualifier) does not exist; State Failed: its
 * invocations fail (Lambda developer guide, "Lambda function states").
 */
import {
  type FunctionConfiguration,
  GetFunctionConfigurationCommand,
  type LambdaClient,
} from '@aws-sdk/client-lambda';
import { functionRegion } from '../../functions/adapters/aws/hooks';
import type { ServiceConfig } from '../../functions/core/config';
import { HOOK_STAGES } from '../../functions/core/config-hooks';
import { error, type Finding, ok, type Read, unreadable } from './findings';
import type { Reader } from './reader';

export interface HookTarget {
  /** Where the config sets it: `hooks.beforeTraffic[0]`. */
  path: string;
  name: string;
  lambda?: string;
  url?: string;
  /** A Lambda hook's region: its ARN's, or the controller's for a name. */
  region?: string;
}

export function hookTargets(config: ServiceConfig, controllerRegion: string): HookTarget[] {
  return HOOK_STAGES.flatMap((stage) =>
    (config.hooks?.[stage] ?? []).map((h, i) => ({
      path: `hooks.${stage}[${i}]`,
      name: h.name,
      ...(h.lambda ? { lambda: h.lambda, region: functionRegion(h.lambda) ?? controllerRegion } : {}),
      ...(h.url ? { url: h.url } : {}),
    })),
  );
}

/** Each Lambda hook's function configuration, read in its region (undefined for an HTTPS hook). */
export async function readHookFunctions(
  readCall: Reader['read'],
  lambdaIn: (region: string) => Pick<LambdaClient, 'send'>,
  targets: readonly HookTarget[],
): Promise<(Read<FunctionConfiguration> | undefined)[]> {
  return Promise.all(
    targets.map((t) => {
      const { lambda, region } = t;
      if (lambda === undefined || region === undefined) return undefined;
      return readCall(
        'lambda:GetFunctionConfiguration',
        lambda,
        () => lambdaIn(region).send(new GetFunctionConfigurationCommand({ FunctionName: lambda })),
        { ResourceNotFoundException: `Lambda function ${lambda} does not exist in ${region}` },
      );
    }),
  );
}

/** Whether a hook's URL is one the controller calls: it parses, and is https. */
function urlProblem(url: string): string | undefined {
  if (!URL.canParse(url)) return 'is not a URL';
  if (new URL(url).protocol !== 'https:') return 'is not https (a hook’s answer decides a rollout)';
  return undefined;
}

export function hookFindings(
  service: string,
  targets: readonly HookTarget[],
  reads: readonly (Read<FunctionConfiguration> | undefined)[],
): Finding[] {
  const check = 'hooks';
  if (targets.length === 0) return [];
  const findings: Finding[] = [];
  targets.forEach((t, i) => {
    const hook = `hook ${t.name} (${t.path})`;
    if (t.url !== undefined) {
      const problem = urlProblem(t.url);
      if (problem)
        findings.push(
          error(
            check,
            `${hook}: url ${t.url} ${problem}`,
            `set ${service}'s ${t.path}.url to an https:// URL`,
          ),
        );
      return;
    }
    const read = reads[i];
    if (!read) return;
    if ('missing' in read) {
      findings.push(
        error(
          check,
          `${hook}: ${read.missing}`,
          `create it, or set ${service}'s ${t.path}.lambda to an existing function (a name is looked up in the controller's region; one in another region by its ARN)`,
        ),
      );
    } else if ('failed' in read) {
      findings.push(unreadable(check, `${hook}'s function ${t.lambda}`, read.failed));
    } else if (read.found.State === 'Failed') {
      findings.push(
        error(
          check,
          `${hook}: Lambda function ${t.lambda} is in the Failed state (${read.found.StateReasonCode ?? ''}: ${read.found.StateReason ?? ''}): its invocations fail`,
          `fix the function (its configuration or code) and deploy it again, or change ${service}'s ${t.path}.lambda`,
        ),
      );
    }
  });
  if (findings.length === 0) {
    const what = targets.map((t) =>
      t.lambda ? `${t.name} (${t.lambda}, ${t.region})` : `${t.name} (${t.url})`,
    );
    findings.push(ok(check, `hooks ${what.join(', ')}`));
  }
  return findings;
}
