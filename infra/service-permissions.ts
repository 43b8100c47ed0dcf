/**
 * The IAM statements for the ALB, ECS and CloudWatch. No service's ARN is named: a change is allowed only on a resource
 * tagged `canary-controller` = this controller's id (aws:ResourceTag, CONTROLLER_TAG_KEY), in the regions and accounts
 * the configs name, so the policies keep one size for 1 or 500 services (IAM allows 10,240 characters of inline policy
 * per role: IAM User Guide, "IAM and AWS STS quotas"). Which actions take which resource types and condition keys is
 * from the Service Authorization Reference ("Actions, resources, and condition keys for AWS Elastic Load Balancing V2",
 * "... for Amazon Elastic Container Service", "... for AWS Identity and Access Management", "... for Amazon
 * CloudWatch", "... for AWS X-Ray"): ELB listeners and rules, ECS services and task definitions and IAM roles all take
 * aws:ResourceTag/${TagKey}; creating actions take aws:RequestTag/${TagKey}. The statements of each service are in
 * their own module (elb-permissions.ts, ecs-permissions.ts); CloudWatch's and X-Ray's are here.
 */
import type { Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import type { ServiceConfig } from '../functions/core/config';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import { type DeployLevel, ecsStatements } from './ecs-permissions';
import { describeElb, routeStatements } from './elb-permissions';
import type { Grants } from './grants';
import { ecsArnPrefix, listenerParts } from './names';
import { readRecordStatements, recordStatements, route53Zones } from './route53-permissions';

/** What the statements of every service are scoped by: the configs' regions and accounts, the controller's tag. */
export interface ServiceScope {
  readonly grants: Grants;
  /** `arn:<partition>:elasticloadbalancing:<region>:<account>:` of every configured listener. */
  readonly elbPrefixes: string[];
  /** The hosted zones of weighted-record services, with their record names and types (route53-permissions.ts). */
  readonly zones: ReturnType<typeof route53Zones>;
  /** `arn:<partition>:ecs:<region>:<account>:` of every configured cluster. */
  readonly ecsPrefixes: string[];
  /** `arn:<partition>:iam::<account>:` of the accounts whose task and execution roles the configs name. */
  readonly rolePrefixes: string[];
  /** Conditions: the resource carries the controller's tag; the request tags what it creates with it. */
  readonly tagged: { StringEquals: Record<string, string> };
  readonly requestTagged: { StringEquals: Record<string, string> };
}

export class ServicePermissions {
  private readonly scope: ServiceScope;
  private readonly hasEcs: boolean;
  private readonly hasAlarms: boolean;
  private readonly xray: boolean;

  constructor(stack: Stack, grants: Grants, services: ServiceConfig[], controllerTag: string) {
    const uniq = (xs: string[]) => [...new Set(xs)].sort();
    const ecs = services.flatMap((c) => (c.deployer.kind === 'ecs' ? [c.deployer] : []));
    this.hasEcs = ecs.length > 0;
    this.scope = {
      grants,
      elbPrefixes: uniq(
        services.flatMap((c) =>
          c.traffic.kind === 'alb' ? [listenerParts(c.traffic.listenerArn).arnPrefix] : [],
        ),
      ),
      zones: route53Zones(services),
      ecsPrefixes: uniq(ecs.map((d) => ecsArnPrefix(stack, d.cluster))),
      rolePrefixes: uniq(
        ecs
          .flatMap((d) => [d.taskRoleArn ?? [], d.executionRoleArn ?? []].flat())
          .map((arn) => arn.replace(/role\/.*$/, '')),
      ),
      tagged: { StringEquals: { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: controllerTag } },
      requestTagged: { StringEquals: { [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: controllerTag } },
    };
    this.hasAlarms = services.some((c) => c.analysis.alarms.length > 0);
    this.xray = services.some((c) => c.analysis.xray !== undefined);
  }

  /** Read listeners, rules and target groups, never change them. */
  readRoutes(fn: ControllerFunction) {
    describeElb(this.scope.grants, fn);
    readRecordStatements(this.scope.grants, fn, this.scope.zones);
  }

  route(fn: ControllerFunction) {
    if (this.scope.elbPrefixes.length > 0) routeStatements(this.scope, fn);
    else describeElb(this.scope.grants, fn);
    recordStatements(this.scope.grants, fn, this.scope.zones);
  }

  deploy(fn: ControllerFunction, level: DeployLevel) {
    describeElb(this.scope.grants, fn);
    if (this.hasEcs) ecsStatements(this.scope, fn, level);
  }

  metrics(fn: ControllerFunction, use: 'baseline' | 'alarms' | 'judge') {
    const { grants } = this.scope;
    // The one statement covers every metric the judge reads: the load balancer's, the custom metrics a service
    // names (analysis.metrics) and the ECS services' CPU and memory. GetMetricData has no resource type in the
    // Service Authorization Reference ("Actions, resources, and condition keys for Amazon CloudWatch") and the
    // CloudWatch permissions reference gives "*" as its Resource: no metric or namespace can be named in the policy.
    grants.allow(
      fn,
      new iam.PolicyStatement({ sid: 'MetricData', actions: ['cloudwatch:GetMetricData'], resources: ['*'] }),
      'cloudwatch:GetMetricData has no resource-level permissions (IAM requires "*"), for custom metrics as for ALB metrics.',
    );
    if (use !== 'baseline' && this.hasAlarms) {
      grants.allow(
        fn,
        new iam.PolicyStatement({
          sid: 'GatingAlarms',
          actions: ['cloudwatch:DescribeAlarms'],
          resources: ['*'],
        }),
        'CloudWatch API Reference, DescribeAlarms: information about composite alarms is returned only with ' +
          'cloudwatch:DescribeAlarms scoped to "*" (gating alarms may be composite); the call only reads alarm states.',
      );
    }
    if (use === 'judge' && this.xray) {
      grants.allow(
        fn,
        new iam.PolicyStatement({
          sid: 'XRayStatistics',
          actions: ['xray:GetTimeSeriesServiceStatistics'],
          resources: ['*'],
        }),
        'xray:GetTimeSeriesServiceStatistics has no resource-level permissions (Service Authorization Reference, ' +
          'AWS X-Ray: no resource type for the action; only GetGroup and the group write actions take group ARNs).',
      );
    }
  }
}
