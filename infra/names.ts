/** Names and ARNs the controller's parts share: built from configs and names, never from a resource's attributes. */
import { ArnFormat, type Stack } from 'aws-cdk-lib';

/** `start-rollout` → `StartRollout`: construct ids from handler and service names. */
export const pascal = (name: string) =>
  name
    .split('-')
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');

/**
 * `app/<name>/<id>` (the LoadBalancer metric dimension), the listener's rule-ARN prefix and the ARN prefix of its
 * region and account (`arn:<partition>:elasticloadbalancing:<region>:<account>:`).
 */
export function listenerParts(listenerArn: string): {
  loadBalancer: string;
  rulePrefix: string;
  arnPrefix: string;
} {
  // A load balancer's own ARN (weighted records name each version's) has no listener part.
  const m =
    /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}):listener\/(app\/[^/]+\/[^/]+)\/([^/]+)$/.exec(
      listenerArn,
    ) ??
    /^(arn:[^:]+:elasticloadbalancing:[^:]+:\d{12}):loadbalancer\/(app\/[^/]+\/[^/]+)()$/.exec(listenerArn);
  if (!m) throw new Error(`not an ALB listener ARN: ${listenerArn}`);
  return {
    loadBalancer: m[2] as string,
    rulePrefix: `${m[1]}:listener-rule/${m[2]}/${m[3]}/`,
    arnPrefix: `${m[1]}:`,
  };
}

/** `targetgroup/<name>/<id>` (the TargetGroup metric dimension). */
export const targetGroupDimension = (arn: string) => arn.slice(arn.lastIndexOf(':') + 1);

/**
 * The state machine's ARN and its executions' (`<name>:*`), from its fixed name: functions the state machine
 * invokes can know them without a dependency cycle.
 */
export function stateMachineArns(stack: Stack, stateMachineName: string) {
  const arn = (resource: string, resourceName: string) =>
    stack.formatArn({ service: 'states', resource, resourceName, arnFormat: ArnFormat.COLON_RESOURCE_NAME });
  return {
    stateMachineArn: arn('stateMachine', stateMachineName),
    executionArns: arn('execution', `${stateMachineName}:*`),
  };
}

/** An event bus's ARN from its name (the bus's own ARN attribute would make its policy depend on itself). */
export const eventBusArn = (stack: Stack, name: string) =>
  stack.formatArn({ service: 'events', resource: 'event-bus', resourceName: name });

/**
 * An ECS ARN in the cluster's region and account: those of `cluster` when it is an ARN, else the stack's.
 */
function ecsArn(stack: Stack, cluster: string, resource: string, resourceName: string): string {
  const m = /^arn:([^:]+):ecs:([^:]+):(\d{12}):cluster\//.exec(cluster);
  return m
    ? `arn:${m[1]}:ecs:${m[2]}:${m[3]}:${resource}/${resourceName}`
    : stack.formatArn({ service: 'ecs', resource, resourceName });
}

/** `arn:<partition>:ecs:<region>:<account>:` of the cluster (those of the stack when the cluster is a name). */
export function ecsArnPrefix(stack: Stack, cluster: string): string {
  // A token (the stack's partition) may be inside the string, never in its fixed tail.
  return ecsArn(stack, cluster, 'cluster', 'x').slice(0, -'cluster/x'.length);
}
