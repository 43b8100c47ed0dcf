/**
 * lambda:InvokeFunction for the hook functions the service configs name, and nothing else. Listed by ARN while the
 * list is short; past HOOK_ARNS_LISTED, a wildcard per region and account the configs name, allowed only on
 * functions tagged `canary-controller` = this controller's id, so the policy keeps one size for 500 services (IAM
 * allows 10,240 characters of inline policy per role: IAM User Guide, "IAM and AWS STS quotas"). Service
 * Authorization Reference, "Actions, resources, and condition keys for AWS Lambda": InvokeFunction takes the
 * `function` resource type (arn:${Partition}:lambda:${Region}:${Account}:function:${FunctionName}, a qualifier
 * after it) and aws:ResourceTag/${TagKey} (Lambda Developer Guide, "Using attribute-based access control in
 * Lambda": InvokeFunction by function tag).
 */
import { ArnFormat, type Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../functions/core/config';
import { HOOK_STAGES } from '../functions/core/config-hooks';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import type { Grants } from './grants';

/** Hook functions listed one by one at most (about 90 characters each); more are granted by tag. */
export const HOOK_ARNS_LISTED = 40;

/**
 * The ARN of every Lambda function the configs' hooks name: a name resolved in the controller's account and region
 * (the stack's, tokens when its environment is not set), an ARN as configured, whatever its region (the controller
 * invokes it with a client of that region: functions/adapters/aws/hooks.ts).
 */
export function hookFunctionArns(stack: Stack, services: readonly ServiceConfig[]): string[] {
  const targets = services.flatMap((c) =>
    HOOK_STAGES.flatMap((stage) => (c.hooks?.[stage] ?? []).flatMap((h) => (h.lambda ? [h.lambda] : []))),
  );
  const arns = targets.map((t) =>
    t.startsWith('arn:')
      ? t
      : stack.formatArn({
          service: 'lambda',
          resource: 'function',
          resourceName: t,
          arnFormat: ArnFormat.COLON_RESOURCE_NAME,
        }),
  );
  return [...new Set(arns)].sort();
}

export function hookStatements(
  stack: Stack,
  grants: Grants,
  fn: ControllerFunction,
  services: readonly ServiceConfig[],
  controllerTag: string,
): void {
  const arns = hookFunctionArns(stack, services);
  if (arns.length === 0) return;
  if (arns.length <= HOOK_ARNS_LISTED) {
    grants.allow(
      fn,
      new iam.PolicyStatement({ sid: 'HookFunctions', actions: ['lambda:InvokeFunction'], resources: arns }),
    );
    return;
  }
  // arn:<partition>:lambda:<region>:<account>:function:* for each region and account named.
  const prefixes = [...new Set(arns.map((a) => a.replace(/:function:.*$/, ':function:*')))].sort();
  grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'HookFunctions',
      actions: ['lambda:InvokeFunction'],
      resources: prefixes,
      conditions: { StringEquals: { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: controllerTag } },
    }),
    `More than ${HOOK_ARNS_LISTED} hook functions: invoked only when tagged ${CONTROLLER_TAG_KEY} = the controller's id (aws:ResourceTag), in the regions and accounts the configs name.`,
  );
}
