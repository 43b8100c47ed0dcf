/**
 * The Lambda functions the hooks of the service configs invoke, as run-hook calls them: a name is the function of
 * that name in the controller's own partition, region and account; an ARN (of any region, a version or alias
 * appended or not) is invoked as configured (Lambda API reference, Invoke: FunctionName). One rule for the stack,
 * which grants run-hook lambda:InvokeFunction on these ARNs (infra/hook-permissions.ts, CloudFormation tokens for
 * the home of a stack whose environment is not set), and for `canary check`, which simulates that call on each.
 */
import { HOOK_STAGES, type HookStage } from './hook-stages';

/** Where a hook function named by its name lives: the controller's partition, region and account. */
export interface FunctionHome {
  partition: string;
  region: string;
  account: string;
}

/**
 * Hook functions the stack lists one by one at most (about 90 characters each); past it, it lets run-hook invoke only
 * the functions tagged with the controller's id (infra/hook-permissions.ts).
 */
export const HOOK_ARNS_LISTED = 40;

/** Whether the stack grants run-hook these hook functions (every config's, hookFunctionArns) by tag, not by ARN. */
export function grantedByTag(arns: readonly string[]): boolean {
  return arns.length > HOOK_ARNS_LISTED;
}

/** The part of a service config that names hook functions. */
type WithHooks = { hooks?: Partial<Record<HookStage, readonly { lambda?: string }[]>> };

/** The ARN run-hook invokes for a hook's `lambda`. */
export function hookFunctionArn(lambda: string, home: FunctionHome): string {
  return lambda.startsWith('arn:')
    ? lambda
    : `arn:${home.partition}:lambda:${home.region}:${home.account}:function:${lambda}`;
}

/** Every hook function the configs name, each once, sorted. */
export function hookFunctionArns(configs: readonly WithHooks[], home: FunctionHome): string[] {
  const lambdas = configs.flatMap((c) =>
    HOOK_STAGES.flatMap((stage) => (c.hooks?.[stage] ?? []).flatMap((h) => (h.lambda ? [h.lambda] : []))),
  );
  return [...new Set(lambdas.map((l) => hookFunctionArn(l, home)))].sort();
}

/**
 * The function a (possibly qualified) function ARN belongs to: `arn:<partition>:lambda:<region>:<account>:function:
 * <name>`. Tags are the function's, not a version's or alias's (Lambda API reference, ListTags / TagResource).
 */
export function unqualifiedFunctionArn(arn: string): string {
  return arn.split(':').slice(0, 7).join(':');
}
