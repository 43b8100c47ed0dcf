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
  ListTagsCommand,
} from '@aws-sdk/client-lambda';
import { functionRegion } from '../../functions/adapters/aws/hooks';
import type { ServiceConfig } from '../../functions/core/config';
import { HOOK_STAGES } from '../../functions/core/config-hooks';
import {
  type FunctionHome,
  hookFunctionArn,
  unqualifiedFunctionArn,
} from '../../functions/core/hook-functions';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { error, type Finding, notChecked, ok, type Read, unreadable } from './findings';
import type { Call, CallFacts, Decision } from './permissions';
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

/**
 * The `canary-controller` tag of each hook function (undefined when it has none), by the ARN run-hook invokes: past
 * HOOK_ARNS_LISTED hook functions the stack lets run-hook invoke only functions tagged with the controller's id
 * (infra/hook-permissions.ts), and IAM policy simulation does not read tags: the tag goes in as the request's
 * aws:ResourceTag context key. Read with Lambda ListTags on the function (tags are the function's, not a version's
 * or alias's), in its region: it needs lambda:ListTags only, where GetFunction, which returns the tags too, also
 * needs lambda:GetFunction and returns a link to the function's code (Lambda Developer Guide, "Using tags on Lambda
 * functions": lambda:ListTags; API reference, ListTags / GetFunction: ResourceNotFoundException). Read whenever the
 * function is not known to be missing (its configuration may be unreadable while its tags are not); a function
 * GetFunctionConfiguration found missing is `missing`, its tags not asked for.
 */
export async function readHookTags(
  readCall: Reader['read'],
  lambdaIn: (region: string) => Pick<LambdaClient, 'send'>,
  targets: readonly HookTarget[],
  reads: readonly (Read<FunctionConfiguration> | undefined)[],
  home: FunctionHome,
): Promise<Record<string, Read<string | undefined>>> {
  const missing = new Map<string, string | undefined>();
  targets.forEach((t, i) => {
    if (t.lambda === undefined) return;
    const arn = hookFunctionArn(t.lambda, home);
    const read = reads[i];
    const known = read && 'missing' in read ? read.missing : undefined;
    // Known missing only when every hook naming it found it missing: one that may exist is enough to read its tags.
    if (!missing.has(arn) || missing.get(arn) !== undefined) missing.set(arn, known);
  });
  const entries = await Promise.all(
    [...missing].map(async ([arn, reason]): Promise<[string, Read<string | undefined>]> => {
      if (reason !== undefined) return [arn, { missing: reason }];
      const resource = unqualifiedFunctionArn(arn);
      const region = resource.split(':')[3] ?? '';
      const read = await readCall(
        'lambda:ListTags',
        resource,
        async () =>
          (await lambdaIn(region).send(new ListTagsCommand({ Resource: resource }))).Tags?.[
            CONTROLLER_TAG_KEY
          ],
        { ResourceNotFoundException: `Lambda function ${resource} does not exist` },
      );
      return [arn, read];
    }),
  );
  return Object.fromEntries(entries);
}

/** run-hook's lambda:InvokeFunction on each hook function, with the function's controller tag when it has one. */
export function hookInvokeCalls(facts: CallFacts): Call[] {
  return (facts.hookFunctionArns ?? []).map((arn) => {
    const tag = facts.hookFunctionTags?.[arn];
    const value = tag && 'found' in tag ? tag.found : undefined;
    return {
      action: 'lambda:InvokeFunction',
      resource: arn,
      ...(value !== undefined ? { context: { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: value } } : {}),
    };
  });
}

/** How the stack grants run-hook its hook functions, as far as a denied invoke's explanation needs it. */
export interface HookGrant {
  /** The hook functions' controller tags (readHookTags), by the ARN run-hook invokes. */
  tags?: Readonly<Record<string, Read<string | undefined>>>;
  /** This controller's id (CONTROLLER_TAG), when known. */
  controllerTag?: string;
  /** Whether the stack grants by tag (core/hook-functions.ts, grantedByTag over every config's functions). */
  byTag: boolean;
}

/**
 * A denied lambda:InvokeFunction that the function's controller tag explains, in those words: it has none (the
 * simulation wanted aws:ResourceTag/canary-controller), it has another controller's (when the stack grants by tag:
 * granted by ARN, the function is simply not granted yet, and retagging it would take it from the other controller),
 * its tags could not be read, or it does not exist. Undefined for any other denial (the generic finding then says it).
 */
export function hookTagFinding(d: Decision, grant: HookGrant): Finding | undefined {
  const read = grant.tags?.[d.resource];
  if (d.action !== 'lambda:InvokeFunction' || !read) return undefined;
  const { controllerTag } = grant;
  const id = controllerTag ?? "<the controller's id: the stack's ControllerTag output>";
  const wanted = `${CONTROLLER_TAG_KEY}=${id}`;
  const fix = `tag it: aws lambda tag-resource --resource ${unqualifiedFunctionArn(d.resource)} --tags ${wanted}`;
  const tagWanted = d.missingContext?.includes(`aws:ResourceTag/${CONTROLLER_TAG_KEY}`) === true;
  const notJudged = (why: string, howTo: string) =>
    notChecked(
      'iam',
      `run-hook's lambda:InvokeFunction on hook function ${d.resource} was not checked: the controller invokes it only when tagged ${wanted}, and ${why}`,
      howTo,
    );
  if ('missing' in read)
    return tagWanted
      ? notJudged(read.missing, `create the function (see the hooks finding) with the tag ${wanted}`)
      : undefined;
  if ('failed' in read)
    return tagWanted
      ? notJudged(
          `its tags could not be read (${read.failed})`,
          'run the check with credentials that may call lambda:ListTags on the hook functions',
        )
      : undefined;
  if (read.found === undefined && tagWanted)
    return error(
      'iam',
      `hook function ${d.resource} is not tagged ${wanted}: the controller may not invoke it`,
      fix,
    );
  if (grant.byTag && read.found !== undefined && controllerTag !== undefined && read.found !== controllerTag)
    return error(
      'iam',
      `hook function ${d.resource} is tagged ${CONTROLLER_TAG_KEY}=${read.found}, another controller's: this one (${controllerTag}) may not invoke it`,
      fix,
    );
  return undefined;
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
