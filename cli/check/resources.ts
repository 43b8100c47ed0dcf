/**
 * The rest of a service's resources, checked from what ECS, CloudWatch and ECR describe: the ECS services the
 * `ecs` deployer changes, the gating alarms, the ECR repository. Pure.
 */

import type { Repository } from '@aws-sdk/client-ecr';
import type { Failure, Service, Tag, TaskDefinition } from '@aws-sdk/client-ecs';
import type { DescribedAlarms } from '../../functions/adapters/aws/cloudwatch-alarms';
import { registrationIssues, registryOf } from '../../functions/adapters/aws/ecs';
import type { ServiceConfig } from '../../functions/core/config';
import { configuredTargetGroups } from '../../functions/core/routes';
import { error, type Finding, ok, type Read, unreadable, warning } from './findings';

export interface EcsAccount {
  /** DescribeServices of the stable and canary services in the cluster. */
  services: Read<{ services: Service[]; failures: Failure[] }>;
  /** The stable service's task definition (with its tags), when the service was found. */
  taskDefinition?: Read<{ taskDefinition: TaskDefinition; tags: Tag[] }>;
}

/** `arn:aws:ecs:<region>:<account>:service/<name>`: created before the long ARN format (no cluster in it). */
export function isShortServiceArn(arn: string): boolean {
  return /:service\/[^/]+$/.test(arn);
}

type EcsDeployer = Extract<ServiceConfig['deployer'], { kind: 'ecs' }>;

export function ecsFindings(config: ServiceConfig, account: EcsAccount): Finding[] {
  const check = 'ecs';
  const d = config.deployer;
  if (d.kind !== 'ecs')
    return [ok(check, 'deployer "none": someone else deploys behind the canary target group')];
  const read = account.services;
  if ('missing' in read)
    return [
      error(
        check,
        `ECS cluster ${d.cluster} does not exist`,
        'set deployer.cluster to the cluster the services run in',
      ),
    ];
  if ('failed' in read) return [unreadable(check, `the ECS services in cluster ${d.cluster}`, read.failed)];
  const roles: ServiceRole[] = [
    [
      'deployer.stableService',
      d.stableService,
      config.traffic.kind === 'route53' ? 'traffic.stable.targetGroupArn' : 'traffic.stableTargetGroupArn',
      configuredTargetGroups(config.traffic).stable,
    ],
    [
      'deployer.canaryService',
      d.canaryService,
      config.traffic.kind === 'route53' ? 'traffic.canary.targetGroupArn' : 'traffic.canaryTargetGroupArn',
      configuredTargetGroups(config.traffic).canary,
    ],
  ];
  const findings = [
    ...roles.flatMap((role) => serviceFindings(d, role, read.found)),
    ...taskDefinitionFindings(d, account.taskDefinition),
  ];
  if (findings.length === 0) findings.push(ecsPassed(d, account.taskDefinition));
  return findings;
}

/** A service the deployer names: its config field, its name, and the target group it must register in. */
type ServiceRole = readonly [field: string, name: string, tgField: string, tgArn: string];

/** One of the stable and canary services: active, long ARN, the ECS deployment controller, registered. */
function serviceFindings(
  d: EcsDeployer,
  [field, name, tgField, tgArn]: ServiceRole,
  found: { services: Service[]; failures: Failure[] },
): Finding[] {
  const check = 'ecs';
  const findings: Finding[] = [];
  const service = found.services.find(
    (s) => (s.serviceName === name || s.serviceArn === name) && s.status === 'ACTIVE',
  );
  if (!service) {
    const reason = found.failures.find((f) => f.arn?.endsWith(`/${name}`))?.reason;
    findings.push(
      error(
        check,
        `ECS service not found in cluster ${d.cluster}: ${name}${reason ? ` (${reason})` : ''}`,
        `create the service, or set ${field} to an active service of cluster ${d.cluster}`,
      ),
    );
    return findings;
  }
  if (service.serviceArn && isShortServiceArn(service.serviceArn))
    findings.push(
      warning(
        check,
        `${name} has the short ARN format (${service.serviceArn}): IAM policies must name that ARN, not service/${d.cluster}/${name} (the controller's stack grants both), and ECS cannot tag the service`,
        'migrate the service to the long ARN format (ECS guide: "Migrate an Amazon ECS short service ARN to a long ARN")',
      ),
    );
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'ECS')
    findings.push(
      error(
        check,
        `${name} uses the ${controller} deployment controller: UpdateService cannot change its task definition`,
        `use a service with the rolling update (ECS) deployment controller, or deployer kind "none" and let ${controller === 'CODE_DEPLOY' ? 'CodeDeploy' : 'your tooling'} deploy`,
      ),
    );
  const groups = (service.loadBalancers ?? []).flatMap((lb) =>
    lb.targetGroupArn ? [lb.targetGroupArn] : [],
  );
  if (!groups.includes(tgArn))
    findings.push(
      error(
        check,
        `${name} does not register its tasks in ${tgField} (${groups.length > 0 ? `it registers in ${groups.join(', ')}` : 'it has no load balancer'})`,
        `attach ${name} to ${tgArn}, or set ${tgField} to the target group ${name} registers in`,
      ),
    );
  return findings;
}

/** The stable task definition: the container a rollout replaces, its registry, its family and roles. */
function taskDefinitionFindings(d: EcsDeployer, td: EcsAccount['taskDefinition']): Finding[] {
  const check = 'ecs';
  const findings: Finding[] = [];
  if (td && 'failed' in td) findings.push(unreadable(check, `the stable task definition`, td.failed));
  else if (td && 'missing' in td)
    findings.push(error(check, td.missing, `deploy ${d.stableService} with an existing task definition`));
  else if (td) {
    const t = td.found.taskDefinition;
    const container = t.containerDefinitions?.find((c) => c.name === d.container);
    if (!container) {
      findings.push(
        error(
          check,
          `no container "${d.container}" in ${t.taskDefinitionArn ?? 'the stable task definition'} (has: ${(t.containerDefinitions ?? []).map((c) => c.name).join(', ')})`,
          'set deployer.container to the container whose image a rollout replaces',
        ),
      );
    } else if (!registryOf(container.image ?? '')) {
      findings.push(
        error(
          check,
          `cannot tell the registry of the stable image "${container.image ?? ''}"`,
          'run the stable service from an image named <registry>/<repository>[:tag|@digest] (the canary is pulled from the same registry)',
        ),
      );
    }
    // What deployCanary refuses before registering: a family or roles the controller may not use.
    for (const issue of registrationIssues(t, d))
      findings.push(
        error(
          check,
          issue.message,
          `set ${issue.path} in the service config and deploy the stack (its IAM follows it)`,
        ),
      );
  }
  return findings;
}

/** What passed, when nothing was found wrong. */
function ecsPassed(d: EcsDeployer, td: EcsAccount['taskDefinition']): Finding {
  const t = td && 'found' in td ? td.found.taskDefinition : undefined;
  const passed = [
    t?.taskRoleArn && `task role ${t.taskRoleArn}`,
    t?.executionRoleArn && `execution role ${t.executionRoleArn}`,
  ]
    .filter(Boolean)
    .join(', ');
  return ok(
    'ecs',
    `${d.stableService} and ${d.canaryService} active in ${d.cluster} (deployment controller ECS)${t ? `; ${t.taskDefinitionArn?.slice(t.taskDefinitionArn.indexOf('task-definition/')) ?? ''}${passed ? ` passes ${passed}` : ''}` : ''}`,
  );
}

/** DescribeAlarms with both alarm types: composite alarms count as found, like metric ones. */
export function alarmFindings(config: ServiceConfig, read: Read<DescribedAlarms> | undefined): Finding[] {
  const check = 'alarms';
  const names = config.analysis.alarms;
  if (names.length === 0 || !read) return [ok(check, 'no gating alarms configured')];
  if ('failed' in read) return [unreadable(check, 'the gating alarms', read.failed)];
  if ('missing' in read)
    return [error(check, read.missing, 'create the alarms or remove them from analysis.alarms')];
  const metric = new Set(read.found.metric.map((a) => a.AlarmName));
  const composite = new Set(read.found.composite.map((a) => a.AlarmName));
  const missing = names.filter((n) => !metric.has(n) && !composite.has(n));
  if (missing.length > 0)
    return [
      error(
        check,
        `CloudWatch alarm not found: ${missing.join(', ')} (every analysis would fail and roll the rollout back)`,
        'create the alarms, or remove them from analysis.alarms',
      ),
    ];
  const kinds = names.map((n) => `${n} (${composite.has(n) ? 'composite' : 'metric'})`);
  return [ok(check, kinds.join(', '))];
}

export function repositoryFindings(config: ServiceConfig, read: Read<Repository>): Finding[] {
  const check = 'repository';
  if ('failed' in read) return [unreadable(check, `ECR repository ${config.repository}`, read.failed)];
  if ('missing' in read)
    return [
      error(
        check,
        `ECR repository ${config.repository} does not exist: no push can start a rollout`,
        'create the repository, or set repository to the one your pipeline pushes to',
      ),
    ];
  return [ok(check, `ECR repository ${read.found.repositoryUri ?? config.repository}`)];
}

/** The X-Ray groups the analysis reads must exist before the rollout (GetGroups lists the active groups). */
export function xrayFindings(names: readonly string[], read: Read<string[]> | undefined): Finding[] {
  const check = 'xray';
  if (names.length === 0 || !read) return [];
  if ('failed' in read) return [unreadable(check, 'the X-Ray groups', read.failed)];
  if ('missing' in read) return [error(check, read.missing, 'create the groups named in analysis.xray')];
  const missing = names.filter((n) => !read.found.includes(n));
  if (missing.length > 0)
    return [
      error(
        check,
        `X-Ray group not found: ${missing.join(', ')} (a group holds only traces that arrive after it exists)`,
        'create each group with a filter expression that selects one version’s traces, before the rollout',
      ),
    ];
  return [ok(check, `X-Ray groups ${names.join(', ')}`)];
}
