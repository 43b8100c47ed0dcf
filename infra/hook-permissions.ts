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
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../functions/core/config';
import { grantedByTag, HOOK_ARNS_LISTED, hookFunctionArns } from '../functions/core/hook-functions';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import type { Grants } from './grants';

export function hookStatements(
  stack: Stack,
  grants: Grants,
  fn: ControllerFunction,
  services: readonly ServiceConfig[],
  controllerTag: string,
): void {
  // Names resolved in the stack's own partition, region and account: tokens when its environment is not set.
  const arns = hookFunctionArns(services, {
    partition: stack.partition,
    region: stack.region,
    account: stack.account,
  });
  if (arns.length === 0) return;
  if (!grantedByTag(arns)) {
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
