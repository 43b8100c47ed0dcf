/**
 * Deployer for two ECS services behind the two target groups (the Flagger model): the canary service runs the
 * new image next to the stable service; a promotion rolls the stable service onto the canary's task definition.
 */
import {
  type ContainerDefinition,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  RegisterTaskDefinitionCommand,
  type RegisterTaskDefinitionCommandInput,
  type Service,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { canaryTaskCount } from '../../core/capacity';
import type { ServiceConfig } from '../../core/config';
import { ConfigInvalidError, type FieldIssue, TargetNotFoundError } from '../../core/errors';
import type { DeployedVersion, ImageRef, Route } from '../../core/rollout';
import { taskDefinitionFamily } from '../../core/task-family';
import type { CanaryCapacity, CanaryHealth, Deployer, RollbackDeployer } from '../../ports';
import { AlbTargetHealth } from './alb';
import { type AdapterOptions, AwsCaller } from './sdk';

type EcsDeployerConfig = Extract<ServiceConfig['deployer'], { kind: 'ecs' }>;

/** Tasks the canary needs for a share of the stable service's traffic: at least one. */
export const canaryDesiredCount = canaryTaskCount;

/** `123456789012.dkr.ecr.us-east-1.amazonaws.com` from `123456789012.dkr.ecr.us-east-1.amazonaws.com/web:1.2`. */
export function registryOf(image: string): string | undefined {
  const slash = image.indexOf('/');
  if (slash < 0) return undefined;
  const host = image.slice(0, slash);
  return host.includes('.') || host.includes(':') || host === 'localhost' ? host : undefined;
}

function ecsConfig(config: ServiceConfig): EcsDeployerConfig {
  if (config.deployer.kind !== 'ecs') {
    throw new ConfigInvalidError('service config', [
      { path: 'deployer.kind', message: `expected "ecs", got "${config.deployer.kind}"` },
    ]);
  }
  return config.deployer;
}

const primaryDeployment = (service: Service) => service.deployments?.find((d) => d.status === 'PRIMARY');

/** Putting stable back and scaling the canary down: all a rollback asks of ECS (EcsDeployer does the rest). */
export class EcsRollback implements RollbackDeployer {
  readonly swapsTargetGroups = false;
  protected readonly aws: AwsCaller;

  constructor(
    protected readonly ecs: ECSClient,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  async restoreStable(config: ServiceConfig, _route: Route, previous: DeployedVersion): Promise<void> {
    const d = ecsConfig(config);
    if (!previous.revision) {
      throw new Error(
        `cannot restore ${d.stableService}: the task definition it ran before was not recorded`,
      );
    }
    await this.updateService(d, d.stableService, { taskDefinition: previous.revision });
  }

  async scaleDownCanary(config: ServiceConfig, _route: Route): Promise<void> {
    const d = ecsConfig(config);
    await this.updateService(d, d.canaryService, { desiredCount: 0 });
  }

  protected async updateService(
    d: EcsDeployerConfig,
    service: string,
    change: { taskDefinition?: string; desiredCount?: number },
  ) {
    const message = `ECS service ${service} not found (or not active) in cluster ${d.cluster}`;
    await this.aws.call(
      'ecs:UpdateService',
      `${service} in cluster ${d.cluster}`,
      () => this.ecs.send(new UpdateServiceCommand({ cluster: d.cluster, service, ...change })),
      {
        notFound: {
          ServiceNotFoundException: message,
          ServiceNotActiveException: message,
          ClusterNotFoundException: `ECS cluster ${d.cluster} does not exist`,
        },
      },
    );
  }
}

export class EcsDeployer extends EcsRollback implements Deployer {
  private readonly targetHealth: AlbTargetHealth;

  constructor(ecs: ECSClient, elbv2: ElasticLoadBalancingV2Client, options: AdapterOptions = {}) {
    super(ecs, options);
    this.targetHealth = new AlbTargetHealth(elbv2, options);
  }

  async describeStable(config: ServiceConfig, _route: Route): Promise<DeployedVersion> {
    const d = ecsConfig(config);
    const [stable] = await this.services(d, [d.stableService]);
    const taskDefinitionArn = requireTaskDefinition(stable, d);
    const { taskDefinition } = await this.taskDefinition(taskDefinitionArn);
    return { image: containerOf(taskDefinition, d).image ?? '', revision: taskDefinitionArn };
  }

  async deployCanary(
    config: ServiceConfig,
    _route: Route,
    image: ImageRef,
    canaryPercent: number,
  ): Promise<void> {
    const d = ecsConfig(config);
    const [stable] = await this.services(d, [d.stableService, d.canaryService]);
    const { taskDefinition, tags } = await this.taskDefinition(requireTaskDefinition(stable, d));
    const stableImage = containerOf(taskDefinition, d).image ?? '';
    const registry = registryOf(stableImage);
    if (!registry) {
      throw new ConfigInvalidError('service config', [
        {
          path: 'deployer.container',
          message: `cannot tell the registry of the stable image "${stableImage}"`,
        },
      ]);
    }
    const issues = registrationIssues(taskDefinition, d);
    if (issues.length > 0) throw new ConfigInvalidError('service config', issues);
    const canaryImage = `${registry}/${image.repository}@${image.digest}`;
    const registered = await this.aws.call(
      'ecs:RegisterTaskDefinition',
      `task definition family ${taskDefinition.family ?? '?'}`,
      () =>
        this.ecs.send(
          new RegisterTaskDefinitionCommand(registerInput(taskDefinition, tags, d.container, canaryImage)),
        ),
      // Not idempotent (each call is a new revision), though a spare revision after a 5xx would be harmless.
      { idempotent: false },
    );
    const canaryTaskDefinition = registered.taskDefinition?.taskDefinitionArn;
    if (!canaryTaskDefinition) throw new Error('ecs:RegisterTaskDefinition returned no task definition ARN');
    await this.updateService(d, d.canaryService, {
      taskDefinition: canaryTaskDefinition,
      desiredCount: canaryDesiredCount(stable.desiredCount ?? 0, canaryPercent),
    });
  }

  async canaryHealth(config: ServiceConfig, route: Route): Promise<CanaryHealth> {
    const d = ecsConfig(config);
    const [canary] = await this.services(d, [d.canaryService]);
    const service = serviceHealth(canary, d.canaryService);
    if (!service.ready) return service;
    const targets = await this.targetHealth.check(route.canaryTargetGroupArn);
    return { ready: targets.ready, detail: `${service.detail}; ${targets.detail}` };
  }

  async scaleCanary(config: ServiceConfig, _route: Route, canaryPercent: number): Promise<void> {
    const d = ecsConfig(config);
    const [stable, canary] = await this.services(d, [d.stableService, d.canaryService]);
    const current = canary.desiredCount ?? 0;
    const desired = Math.max(current, canaryDesiredCount(stable.desiredCount ?? 0, canaryPercent));
    if (desired !== current) await this.updateService(d, d.canaryService, { desiredCount: desired });
  }

  /**
   * The canary's capacity for `canaryPercent`: the tasks it needs (the same share of the stable service's desired
   * count as of the traffic, or the canary's own desired count if the stable service grew since the scale), RUNNING in the canary service's PRIMARY deployment (the tasks of its current task
   * definition; an ACTIVE deployment still running tasks means an older revision is still registered too), and
   * `healthy` in the canary target group. A task that is RUNNING in ECS may still be `initial` in the target group
   * until it has passed the health check, and ALB only routes to it once it is `healthy`.
   */
  async canaryCapacity(config: ServiceConfig, route: Route, canaryPercent: number): Promise<CanaryCapacity> {
    const d = ecsConfig(config);
    const [stable, canary] = await this.services(d, [d.stableService, d.canaryService]);
    const needed = canaryTaskCount(stable.desiredCount ?? 0, canaryPercent);
    const primary = primaryDeployment(canary);
    const desired = primary?.desiredCount ?? 0;
    const running = primary?.runningCount ?? 0;
    const older = (canary.deployments ?? []).filter(
      (x) => x.status !== 'PRIMARY' && ((x.runningCount ?? 0) > 0 || (x.pendingCount ?? 0) > 0),
    );
    const targets = await this.targetHealth.healthyCount(route.canaryTargetGroupArn);
    // The tasks the scale asked for: fewer than `needed` only when the stable service grew (autoscaling) after the
    // scale, and the shift phase sizes the canary again before the weight moves, so waiting for them is enough.
    const required = Math.max(1, Math.min(needed, desired));
    const ready =
      primary !== undefined && older.length === 0 && running >= required && targets.healthy >= required;
    const tasks = primary ? `${running}/${desired} tasks running` : 'no primary deployment';
    const grown =
      desired > 0 && desired < needed ? ` (scaled for ${desired}: the stable service grew since)` : '';
    const previous =
      older.length > 0
        ? `; an older deployment still runs ${older.reduce((n, x) => n + (x.runningCount ?? 0), 0)} tasks`
        : '';
    return {
      ready,
      needed,
      desired,
      running,
      healthy: targets.healthy,
      detail: `${d.canaryService}: ${tasks}${previous}, ${targets.detail}; ${needed} needed for ${canaryPercent}%${grown}`,
    };
  }

  async promoteStable(config: ServiceConfig, _route: Route, _image: ImageRef): Promise<void> {
    const d = ecsConfig(config);
    const [canary] = await this.services(d, [d.canaryService]);
    await this.updateService(d, d.stableService, { taskDefinition: requireTaskDefinition(canary, d) });
  }

  async stableHealth(config: ServiceConfig, route: Route, _image: ImageRef): Promise<CanaryHealth> {
    const d = ecsConfig(config);
    const [stable, canary] = await this.services(d, [d.stableService, d.canaryService]);
    const wanted = requireTaskDefinition(canary, d);
    const primary = primaryDeployment(stable);
    if (primary?.taskDefinition !== wanted) {
      return {
        ready: false,
        detail: `${d.stableService} is not yet deploying ${wanted} (primary: ${primary?.taskDefinition ?? 'none'})`,
      };
    }
    const service = serviceHealth(stable, d.stableService);
    if (!service.ready) return service;
    if ((primary.runningCount ?? 0) !== (primary.desiredCount ?? 0)) {
      return {
        ready: false,
        detail: `${d.stableService}: ${primary.runningCount ?? 0}/${primary.desiredCount ?? 0} tasks of the new revision running`,
      };
    }
    const targets = await this.targetHealth.check(route.stableTargetGroupArn);
    return { ready: targets.ready, detail: `${service.detail}; ${targets.detail}` };
  }

  /** The services in the order asked; a missing or inactive one throws TargetNotFound naming it. */
  private async services<const T extends readonly string[]>(
    d: EcsDeployerConfig,
    names: T,
  ): Promise<{ [K in keyof T]: Service }> {
    const out = await this.aws.call(
      'ecs:DescribeServices',
      `${names.join(', ')} in cluster ${d.cluster}`,
      () => this.ecs.send(new DescribeServicesCommand({ cluster: d.cluster, services: [...names] })),
      { notFound: { ClusterNotFoundException: `ECS cluster ${d.cluster} does not exist` } },
    );
    const found = names.map((name) =>
      (out.services ?? []).find(
        (s) => (s.serviceName === name || s.serviceArn === name) && s.status !== 'INACTIVE',
      ),
    );
    const missing = names.filter((_, i) => !found[i]);
    if (missing.length > 0) {
      const reasons = (out.failures ?? []).map((f) => `${f.arn ?? '?'}: ${f.reason ?? '?'}`).join('; ');
      throw new TargetNotFoundError(
        `ECS service not found in cluster ${d.cluster}: ${missing.join(', ')}${reasons ? ` (${reasons})` : ''}`,
      );
    }
    return found as { [K in keyof T]: Service };
  }

  private async taskDefinition(
    arn: string,
  ): Promise<{ taskDefinition: TaskDefinition; tags: { key?: string; value?: string }[] }> {
    const out = await this.aws.call(
      'ecs:DescribeTaskDefinition',
      arn,
      () => this.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
      { notFound: { ClientException: `task definition ${arn} does not exist` } },
    );
    if (!out.taskDefinition) throw new TargetNotFoundError(`task definition ${arn} does not exist`);
    return { taskDefinition: out.taskDefinition, tags: out.tags ?? [] };
  }
}

function requireTaskDefinition(service: Service, d: EcsDeployerConfig): string {
  if (!service.taskDefinition)
    throw new TargetNotFoundError(
      `ECS service ${service.serviceName ?? '?'} in ${d.cluster} has no task definition`,
    );
  return service.taskDefinition;
}

function containerOf(taskDefinition: TaskDefinition, d: EcsDeployerConfig): ContainerDefinition {
  const container = taskDefinition.containerDefinitions?.find((c) => c.name === d.container);
  if (!container) {
    const names = (taskDefinition.containerDefinitions ?? []).map((c) => c.name).join(', ');
    throw new ConfigInvalidError('service config', [
      {
        path: 'deployer.container',
        message: `no container "${d.container}" in ${taskDefinition.taskDefinitionArn ?? 'the task definition'} (has: ${names})`,
      },
    ]);
  }
  return container;
}

/**
 * What keeps the controller from registering a copy of the stable task definition: its IAM allows
 * RegisterTaskDefinition only in the configured family and iam:PassRole only on the configured roles
 * (infra/canary-controller.ts). Found before any call that changes something, each naming the field to set.
 * A task role may be given to ECS by name (RegisterTaskDefinition `taskRoleArn`: "short name or full ARN").
 */
export function registrationIssues(td: TaskDefinition, d: EcsDeployerConfig): FieldIssue[] {
  const issues: FieldIssue[] = [];
  const family = taskDefinitionFamily(d);
  if (td.family !== family) {
    issues.push({
      path: 'deployer.taskDefinitionFamily',
      message: `${d.stableService} runs task definition family "${td.family ?? '?'}", but canary revisions may be registered only in "${family}": set taskDefinitionFamily to "${td.family ?? '?'}"`,
    });
  }
  for (const field of ['taskRoleArn', 'executionRoleArn'] as const) {
    const used = td[field];
    const allowed = d[field];
    if (!used || used === allowed || (!used.startsWith('arn:') && allowed?.endsWith(`/${used}`))) continue;
    issues.push({
      path: `deployer.${field}`,
      message: `${td.taskDefinitionArn ?? 'the stable task definition'} uses ${used}, which the controller may not pass: set ${field} to it`,
    });
  }
  return issues;
}

function serviceHealth(service: Service, name: string): CanaryHealth {
  const primary = primaryDeployment(service);
  const running = service.runningCount ?? 0;
  const desired = service.desiredCount ?? 0;
  if (!primary) return { ready: false, detail: `${name} has no primary deployment` };
  if (primary.rolloutState !== 'COMPLETED') {
    return {
      ready: false,
      detail: `${name} deployment ${primary.rolloutState ?? 'state unknown'}${primary.rolloutStateReason ? `: ${primary.rolloutStateReason}` : ''}`,
    };
  }
  if (desired === 0 || running < desired)
    return { ready: false, detail: `${name}: ${running}/${desired} tasks running` };
  return { ready: true, detail: `${name}: ${running}/${desired} tasks running` };
}

/**
 * Every field RegisterTaskDefinition takes back from DescribeTaskDefinition, with one container's image replaced.
 * Output-only fields (ARN, revision, status, requiresAttributes, compatibilities, registeredAt/By...) are left out.
 */
function registerInput(
  td: TaskDefinition,
  tags: readonly { key?: string; value?: string }[],
  containerName: string,
  image: string,
): RegisterTaskDefinitionCommandInput {
  const userTags = tags.filter((t) => t.key && !t.key.startsWith('aws:'));
  const input: RegisterTaskDefinitionCommandInput = {
    family: td.family,
    taskRoleArn: td.taskRoleArn,
    executionRoleArn: td.executionRoleArn,
    networkMode: td.networkMode,
    containerDefinitions: (td.containerDefinitions ?? []).map((c) =>
      c.name === containerName ? { ...c, image } : c,
    ),
    volumes: td.volumes,
    placementConstraints: td.placementConstraints,
    requiresCompatibilities: td.requiresCompatibilities,
    cpu: td.cpu,
    memory: td.memory,
    pidMode: td.pidMode,
    ipcMode: td.ipcMode,
    proxyConfiguration: td.proxyConfiguration,
    inferenceAccelerators: td.inferenceAccelerators,
    ephemeralStorage: td.ephemeralStorage,
    runtimePlatform: td.runtimePlatform,
    enableFaultInjection: td.enableFaultInjection,
    ...(userTags.length > 0 ? { tags: userTags } : {}),
  };
  return Object.fromEntries(
    Object.entries(input).filter(([, v]) => v !== undefined),
  ) as RegisterTaskDefinitionCommandInput;
}
