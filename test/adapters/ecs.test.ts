import {
  AccessDeniedException,
  ClusterNotFoundException,
  DescribeServicesCommand,
  DescribeTaskDefinitionCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  type Service,
  ServiceNotFoundException,
  type TaskDefinition,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import {
  DescribeTargetHealthCommand,
  ElasticLoadBalancingV2Client,
  type TargetHealthReasonEnum,
  type TargetHealthStateEnum,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { beforeEach, describe, expect, it } from 'vitest';
import { makeDeployerFor } from '../../functions/adapters/aws/deployers';
import { canaryDesiredCount, EcsDeployer, registryOf } from '../../functions/adapters/aws/ecs';
import { NoDeployer } from '../../functions/adapters/aws/none';
import { AccessDeniedError } from '../../functions/adapters/aws/sdk';
import type { ServiceConfig } from '../../functions/core/config';
import { ConfigInvalidError, TargetNotFoundError, TransientError } from '../../functions/core/errors';
import { mockClient } from '../contract/mock';
import {
  awsError,
  CANARY_TG,
  DIGEST,
  fastRetry,
  REGISTRY,
  route,
  STABLE_TG,
  serviceConfig,
  throttling,
} from './helpers';

const ecsClient = new ECSClient({ region: 'us-east-1' });
const elbClient = new ElasticLoadBalancingV2Client({ region: 'us-east-1' });
const ecs = mockClient(ecsClient);
const elb = mockClient(elbClient);

const CLUSTER_ARN = 'arn:aws:ecs:us-east-1:123456789012:cluster/prod';
const STABLE_TD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:42';
const CANARY_TD = 'arn:aws:ecs:us-east-1:123456789012:task-definition/web:43';
const image = { repository: 'team/web', digest: DIGEST, tag: 'v1.5.0' };

function service(
  name: string,
  taskDefinition: string,
  counts: { desired: number; running: number },
  rolloutState = 'COMPLETED',
): Service {
  return {
    serviceArn: `arn:aws:ecs:us-east-1:123456789012:service/prod/${name}`,
    serviceName: name,
    clusterArn: CLUSTER_ARN,
    status: 'ACTIVE',
    desiredCount: counts.desired,
    runningCount: counts.running,
    pendingCount: counts.desired - counts.running,
    launchType: 'FARGATE',
    taskDefinition,
    deployments: [
      {
        id: `ecs-svc/${name.length}1234567890`,
        status: 'PRIMARY',
        taskDefinition,
        desiredCount: counts.desired,
        runningCount: counts.running,
        pendingCount: counts.desired - counts.running,
        rolloutState: rolloutState as 'COMPLETED',
        rolloutStateReason:
          rolloutState === 'COMPLETED'
            ? 'ECS deployment ecs-svc/1 completed.'
            : 'ECS deployment ecs-svc/1 in progress.',
      },
    ],
  };
}

const stableTaskDefinition: TaskDefinition = {
  taskDefinitionArn: STABLE_TD,
  family: 'web',
  revision: 42,
  taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
  executionRoleArn: 'arn:aws:iam::123456789012:role/web-execution',
  networkMode: 'awsvpc',
  containerDefinitions: [
    {
      name: 'app',
      image: `${REGISTRY}/team/web:v1.4.0`,
      cpu: 256,
      memory: 512,
      essential: true,
      portMappings: [{ containerPort: 8080, hostPort: 8080, protocol: 'tcp' }],
      environment: [{ name: 'PORT', value: '8080' }],
      mountPoints: [],
      volumesFrom: [],
      logConfiguration: {
        logDriver: 'awslogs',
        options: {
          'awslogs-group': '/ecs/web',
          'awslogs-region': 'us-east-1',
          'awslogs-stream-prefix': 'app',
        },
      },
    },
    {
      name: 'envoy',
      image: 'public.ecr.aws/appmesh/aws-appmesh-envoy:v1.29.4.0-prod',
      essential: true,
      mountPoints: [],
      volumesFrom: [],
    },
  ],
  volumes: [],
  status: 'ACTIVE',
  requiresAttributes: [
    { name: 'com.amazonaws.ecs.capability.ecr-auth' },
    { name: 'ecs.capability.task-eni' },
  ],
  placementConstraints: [],
  compatibilities: ['EC2', 'FARGATE'],
  requiresCompatibilities: ['FARGATE'],
  cpu: '512',
  memory: '1024',
  runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
  registeredAt: new Date('2025-02-01T10:00:00Z'),
  registeredBy: 'arn:aws:sts::123456789012:assumed-role/deployer/ci',
};

const healthyTargets = {
  TargetHealthDescriptions: [
    { Target: { Id: '10.0.1.12', Port: 8080 }, TargetHealth: { State: 'healthy' as const } },
    { Target: { Id: '10.0.2.40', Port: 8080 }, TargetHealth: { State: 'healthy' as const } },
  ],
};

describe('EcsDeployer', () => {
  const config = serviceConfig();
  let deployer: EcsDeployer;

  beforeEach(() => {
    ecs.reset();
    elb.reset();
    deployer = new EcsDeployer(ecsClient, elbClient, { retry: fastRetry().retry });
  });

  it('helpers: canary size and registry', () => {
    expect(canaryDesiredCount(10, 5)).toBe(1);
    expect(canaryDesiredCount(10, 25)).toBe(3);
    expect(canaryDesiredCount(10, 100)).toBe(10);
    expect(canaryDesiredCount(0, 50)).toBe(1);
    expect(registryOf(`${REGISTRY}/team/web:1`)).toBe(REGISTRY);
    expect(registryOf('nginx:1.27')).toBeUndefined();
    expect(registryOf('library/nginx:1.27')).toBeUndefined();
  });

  it('describeStable: the image and task definition the stable service runs', async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [service('web', STABLE_TD, { desired: 10, running: 10 })], failures: [] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: stableTaskDefinition, tags: [] });

    const stable = await deployer.describeStable(config, route());

    expect(stable).toEqual({ image: `${REGISTRY}/team/web:v1.4.0`, revision: STABLE_TD });
    expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      services: ['web'],
    });
    expect(ecs.commandCalls(DescribeTaskDefinitionCommand)[0]?.args[0].input).toEqual({
      taskDefinition: STABLE_TD,
      include: ['TAGS'],
    });
  });

  it('deployCanary: registers a copy of the stable task definition with the image by digest, then updates the canary service', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service('web', STABLE_TD, { desired: 10, running: 10 }),
        service('web-canary', STABLE_TD, { desired: 0, running: 0 }),
      ],
      failures: [],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: stableTaskDefinition,
      tags: [
        { key: 'team', value: 'web' },
        { key: 'aws:cloudformation:stack-name', value: 'web-prod' },
      ],
    });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .resolves({ taskDefinition: { ...stableTaskDefinition, taskDefinitionArn: CANARY_TD, revision: 43 } });
    ecs.on(UpdateServiceCommand).resolves({});

    await deployer.deployCanary(config, route(), image, 25);

    expect(ecs.commandCalls(DescribeServicesCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      services: ['web', 'web-canary'],
    });
    const [app, envoy] = stableTaskDefinition.containerDefinitions ?? [];
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)[0]?.args[0].input).toEqual({
      family: 'web',
      taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
      executionRoleArn: 'arn:aws:iam::123456789012:role/web-execution',
      networkMode: 'awsvpc',
      containerDefinitions: [{ ...app, image: `${REGISTRY}/team/web@${DIGEST}` }, envoy],
      volumes: [],
      placementConstraints: [],
      requiresCompatibilities: ['FARGATE'],
      cpu: '512',
      memory: '1024',
      runtimePlatform: { cpuArchitecture: 'ARM64', operatingSystemFamily: 'LINUX' },
      tags: [{ key: 'team', value: 'web' }],
    });
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'web-canary',
      taskDefinition: CANARY_TD,
      desiredCount: 3,
    });
  });

  it('deployCanary: a missing canary service is TargetNotFound and nothing is registered', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [service('web', STABLE_TD, { desired: 10, running: 10 })],
      failures: [{ arn: 'arn:aws:ecs:us-east-1:123456789012:service/prod/web-canary', reason: 'MISSING' }],
    });

    const error = await deployer.deployCanary(config, route(), image, 5).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(TargetNotFoundError);
    expect((error as Error).message).toContain('web-canary');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('a missing cluster is TargetNotFound', async () => {
    ecs
      .on(DescribeServicesCommand)
      .rejects(new ClusterNotFoundException({ message: 'Cluster not found.', $metadata: {} }));

    await expect(deployer.describeStable(config, route())).rejects.toThrow(
      new TargetNotFoundError('ECS cluster prod does not exist'),
    );
  });

  it('a container name the task definition lacks is ConfigInvalid naming deployer.container', async () => {
    const other = serviceConfig({
      deployer: {
        kind: 'ecs',
        cluster: 'prod',
        stableService: 'web',
        canaryService: 'web-canary',
        container: 'web',
      },
    });
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [service('web', STABLE_TD, { desired: 2, running: 2 })] });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: stableTaskDefinition });

    const error = await deployer.describeStable(other, route()).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ConfigInvalidError);
    expect((error as ConfigInvalidError).issues[0]?.path).toBe('deployer.container');
  });

  // The controller's IAM allows RegisterTaskDefinition only in the configured family and iam:PassRole only on the
  // configured roles (infra/canary-controller.ts): anything else is refused, naming the field, before a call.
  describe('deployCanary refuses a stable task definition the controller may not copy, and changes nothing', () => {
    const cases: [string, Partial<TaskDefinition>, Partial<ServiceConfig['deployer']>, string, string][] = [
      ['another family', { family: 'web-prod' }, {}, 'deployer.taskDefinitionFamily', '"web-prod"'],
      [
        'an undeclared task role',
        { taskRoleArn: 'arn:aws:iam::123456789012:role/admin' },
        {},
        'deployer.taskRoleArn',
        'role/admin',
      ],
      [
        'an undeclared execution role',
        {},
        { executionRoleArn: undefined },
        'deployer.executionRoleArn',
        'role/web-execution',
      ],
    ];
    it.each(cases)('%s', async (_, td, deployerChange, path, named) => {
      const d = {
        ...(config.deployer as Extract<ServiceConfig['deployer'], { kind: 'ecs' }>),
        ...deployerChange,
      };
      const changed = { ...config, deployer: d } as ServiceConfig;
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          service('web', STABLE_TD, { desired: 2, running: 2 }),
          service('web-canary', STABLE_TD, { desired: 0, running: 0 }),
        ],
      });
      ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: { ...stableTaskDefinition, ...td } });

      const error = await deployer.deployCanary(changed, route(), image, 5).catch((e: unknown) => e);

      expect(error).toBeInstanceOf(ConfigInvalidError);
      const issue = (error as ConfigInvalidError).issues.find((i) => i.path === path);
      expect(issue?.message).toContain(named);
      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(0);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    it('accepts a task role given by name in the task definition when its ARN is configured', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          service('web', STABLE_TD, { desired: 2, running: 2 }),
          service('web-canary', STABLE_TD, { desired: 0, running: 0 }),
        ],
      });
      ecs
        .on(DescribeTaskDefinitionCommand)
        .resolves({ taskDefinition: { ...stableTaskDefinition, taskRoleArn: 'web-task' } });
      ecs.on(RegisterTaskDefinitionCommand).resolves({ taskDefinition: { taskDefinitionArn: CANARY_TD } });
      ecs.on(UpdateServiceCommand).resolves({});

      await deployer.deployCanary(config, route(), image, 5);

      expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
    });
  });

  it('access denied on RegisterTaskDefinition names the action, and is not retried', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service('web', STABLE_TD, { desired: 2, running: 2 }),
        service('web-canary', STABLE_TD, { desired: 0, running: 0 }),
      ],
    });
    ecs.on(DescribeTaskDefinitionCommand).resolves({ taskDefinition: stableTaskDefinition });
    ecs
      .on(RegisterTaskDefinitionCommand)
      .rejects(
        new AccessDeniedException({ message: 'not authorized to perform: iam:PassRole', $metadata: {} }),
      );

    const error = await deployer.deployCanary(config, route(), image, 5).catch((e: unknown) => e);

    expect(error).toBeInstanceOf(AccessDeniedError);
    expect((error as Error).message).toContain('ecs:RegisterTaskDefinition');
    expect(ecs.commandCalls(RegisterTaskDefinitionCommand)).toHaveLength(1);
  });

  describe('canaryHealth', () => {
    it('is not ready while the deployment is in progress (and does not look at targets)', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [service('web-canary', CANARY_TD, { desired: 3, running: 1 }, 'IN_PROGRESS')],
      });

      const health = await deployer.canaryHealth(config, route());

      expect(health.ready).toBe(false);
      expect(health.detail).toContain('IN_PROGRESS');
      expect(elb.calls()).toHaveLength(0);
    });

    it('is ready when the deployment completed, every task runs and every target is healthy', async () => {
      ecs
        .on(DescribeServicesCommand)
        .resolves({ services: [service('web-canary', CANARY_TD, { desired: 2, running: 2 })] });
      elb.on(DescribeTargetHealthCommand).resolves(healthyTargets);

      const health = await deployer.canaryHealth(config, route());

      expect(health.ready).toBe(true);
      expect(elb.commandCalls(DescribeTargetHealthCommand)[0]?.args[0].input).toEqual({
        TargetGroupArn: CANARY_TG,
      });
    });

    it('is not ready while a target is unhealthy', async () => {
      ecs
        .on(DescribeServicesCommand)
        .resolves({ services: [service('web-canary', CANARY_TD, { desired: 2, running: 2 })] });
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [
          {
            Target: { Id: '10.0.1.12', Port: 8080 },
            TargetHealth: { State: 'initial', Reason: 'Elb.RegistrationInProgress' },
          },
        ],
      });

      expect((await deployer.canaryHealth(config, route())).ready).toBe(false);
    });
  });

  describe('canaryCapacity', () => {
    /** A target of the canary group in a DescribeTargetHealth state (API reference, TargetHealth). */
    const target = (n: number, State: TargetHealthStateEnum, Reason?: TargetHealthReasonEnum) => ({
      Target: { Id: `10.0.1.${n}`, Port: 8080 },
      TargetHealth: { State, ...(Reason ? { Reason } : {}) },
    });

    function services(canary: Service) {
      ecs.on(DescribeServicesCommand).resolves({
        services: [service('web', STABLE_TD, { desired: 10, running: 10 }), canary],
        failures: [],
      });
    }

    it('reads both services in one call and the canary target group: ready once the tasks for the share are running and healthy', async () => {
      services(service('web-canary', CANARY_TD, { desired: 5, running: 5 }));
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [1, 2, 3, 4, 5].map((n) => target(n, 'healthy')),
      });

      const capacity = await deployer.canaryCapacity(config, route(), 50);

      expect(capacity).toMatchObject({ ready: true, needed: 5, desired: 5, running: 5, healthy: 5 });
      expect(ecs.commandCalls(DescribeServicesCommand).map((c) => c.args[0].input)).toEqual([
        { cluster: 'prod', services: ['web', 'web-canary'] },
      ]);
      expect(elb.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
        { TargetGroupArn: CANARY_TG },
      ]);
      expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    });

    it('is not ready while new tasks run in ECS but are still initial in the target group', async () => {
      services(service('web-canary', CANARY_TD, { desired: 5, running: 5 }));
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [
          target(1, 'healthy'),
          target(2, 'initial', 'Elb.InitialHealthChecking'),
          target(3, 'initial', 'Elb.RegistrationInProgress'),
          target(4, 'unhealthy', 'Target.Timeout'),
          target(5, 'healthy'),
          target(6, 'draining', 'Target.DeregistrationInProgress'),
        ],
      });

      const capacity = await deployer.canaryCapacity(config, route(), 50);

      expect(capacity).toMatchObject({ ready: false, needed: 5, running: 5, healthy: 2 });
      expect(capacity.detail).toContain('web-canary: 5/5 tasks running');
      expect(capacity.detail).toContain('2 healthy in targetgroup/');
      expect(capacity.detail).toContain('10.0.1.2:8080 initial (Elb.InitialHealthChecking)');
      expect(capacity.detail).toContain('5 needed for 50%');
      expect(capacity.detail).not.toContain('10.0.1.6');
    });

    it('is not ready while the canary service still runs fewer tasks than the share needs', async () => {
      services(service('web-canary', CANARY_TD, { desired: 5, running: 2 }));
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [1, 2].map((n) => target(n, 'healthy')),
      });

      const capacity = await deployer.canaryCapacity(config, route(), 50);

      expect(capacity).toMatchObject({ ready: false, needed: 5, desired: 5, running: 2, healthy: 2 });
      expect(capacity.detail).toContain('2/5 tasks running');
    });

    it('waits for the tasks the scale asked for when the stable service grew since (autoscaling), and for one at least', async () => {
      services(service('web-canary', CANARY_TD, { desired: 2, running: 2 }));
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [target(1, 'healthy'), target(2, 'healthy')],
      });

      const grown = await deployer.canaryCapacity(config, route(), 25);

      expect(grown).toMatchObject({ ready: true, needed: 3, desired: 2, healthy: 2 });
      expect(grown.detail).toContain('scaled for 2: the stable service grew since');

      ecs.reset();
      services(service('web-canary', CANARY_TD, { desired: 0, running: 0 }));
      elb.on(DescribeTargetHealthCommand).resolves({ TargetHealthDescriptions: [] });
      expect(await deployer.canaryCapacity(config, route(), 25)).toMatchObject({ ready: false, healthy: 0 });
    });

    it('does not count targets of an older deployment that still runs tasks', async () => {
      const canary = service('web-canary', CANARY_TD, { desired: 3, running: 3 });
      canary.deployments = [
        ...(canary.deployments ?? []),
        { id: 'ecs-svc/old', status: 'ACTIVE', taskDefinition: STABLE_TD, desiredCount: 0, runningCount: 2 },
      ];
      services(canary);
      elb.on(DescribeTargetHealthCommand).resolves({
        TargetHealthDescriptions: [1, 2, 3, 4, 5].map((n) => target(n, 'healthy')),
      });

      const capacity = await deployer.canaryCapacity(config, route(), 25);

      expect(capacity.ready).toBe(false);
      expect(capacity.detail).toContain('an older deployment still runs 2 tasks');
    });

    it('a missing canary target group is TargetNotFound', async () => {
      services(service('web-canary', CANARY_TD, { desired: 3, running: 3 }));
      elb
        .on(DescribeTargetHealthCommand)
        .rejects(awsError('TargetGroupNotFoundException', 400, 'One or more target groups not found'));

      await expect(deployer.canaryCapacity(config, route(), 25)).rejects.toThrow(TargetNotFoundError);
    });
  });

  it('scaleCanary grows the canary for the share, never shrinks it', async () => {
    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service('web', STABLE_TD, { desired: 10, running: 10 }),
        service('web-canary', CANARY_TD, { desired: 1, running: 1 }),
      ],
    });
    ecs.on(UpdateServiceCommand).resolves({});

    await deployer.scaleCanary(config, route(), 50);
    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'web-canary',
      desiredCount: 5,
    });

    ecs.on(DescribeServicesCommand).resolves({
      services: [
        service('web', STABLE_TD, { desired: 10, running: 10 }),
        service('web-canary', CANARY_TD, { desired: 6, running: 6 }),
      ],
    });
    await deployer.scaleCanary(config, route(), 25);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(1);
  });

  it('promoteStable rolls the stable service onto the canary task definition', async () => {
    ecs
      .on(DescribeServicesCommand)
      .resolves({ services: [service('web-canary', CANARY_TD, { desired: 10, running: 10 })] });
    ecs.on(UpdateServiceCommand).resolves({});

    await deployer.promoteStable(config, route(), image);

    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'web',
      taskDefinition: CANARY_TD,
    });
  });

  describe('stableHealth', () => {
    it('is not ready until the stable primary deployment runs the canary task definition', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          service('web', STABLE_TD, { desired: 10, running: 10 }),
          service('web-canary', CANARY_TD, { desired: 10, running: 10 }),
        ],
      });

      const health = await deployer.stableHealth(config, route(), image);

      expect(health.ready).toBe(false);
      expect(health.detail).toContain(CANARY_TD);
    });

    it('is ready once that deployment completed with every task running and the stable targets healthy', async () => {
      ecs.on(DescribeServicesCommand).resolves({
        services: [
          service('web', CANARY_TD, { desired: 10, running: 10 }),
          service('web-canary', CANARY_TD, { desired: 10, running: 10 }),
        ],
      });
      elb.on(DescribeTargetHealthCommand).resolves(healthyTargets);

      expect((await deployer.stableHealth(config, route(), image)).ready).toBe(true);
      expect(elb.commandCalls(DescribeTargetHealthCommand)[0]?.args[0].input).toEqual({
        TargetGroupArn: STABLE_TG,
      });
    });
  });

  it('restoreStable puts back the recorded task definition', async () => {
    ecs.on(UpdateServiceCommand).resolves({});

    await deployer.restoreStable(config, route(), {
      image: `${REGISTRY}/team/web:v1.4.0`,
      revision: STABLE_TD,
    });

    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'web',
      taskDefinition: STABLE_TD,
    });
  });

  it('scaleDownCanary sets the canary to zero tasks', async () => {
    ecs.on(UpdateServiceCommand).resolves({});

    await deployer.scaleDownCanary(config, route());

    expect(ecs.commandCalls(UpdateServiceCommand)[0]?.args[0].input).toEqual({
      cluster: 'prod',
      service: 'web-canary',
      desiredCount: 0,
    });
  });

  it('UpdateService on a missing service is TargetNotFound', async () => {
    ecs
      .on(UpdateServiceCommand)
      .rejects(new ServiceNotFoundException({ message: 'Service not found.', $metadata: {} }));

    await expect(deployer.scaleDownCanary(config, route())).rejects.toBeInstanceOf(TargetNotFoundError);
  });

  it('throttling on UpdateService is retried, then Transient', async () => {
    ecs.on(UpdateServiceCommand).rejects(throttling());

    await expect(deployer.scaleDownCanary(config, route())).rejects.toBeInstanceOf(TransientError);
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(3);
  });

  it('a ServerException on an idempotent call is retried', async () => {
    ecs.on(UpdateServiceCommand).rejectsOnce(awsError('ServerException', 500)).resolves({});

    await deployer.scaleDownCanary(config, route());
    expect(ecs.commandCalls(UpdateServiceCommand)).toHaveLength(2);
  });
});

describe('NoDeployer', () => {
  beforeEach(() => {
    ecs.reset();
    elb.reset();
  });

  it('swaps target groups, reads canary health from the target group, and changes nothing else', async () => {
    const deployer = new NoDeployer(elbClient, { retry: fastRetry().retry });
    const config = serviceConfig({ deployer: { kind: 'none' } });
    elb.on(DescribeTargetHealthCommand).resolves(healthyTargets);

    expect(deployer.swapsTargetGroups).toBe(true);
    expect((await deployer.canaryHealth(config, route())).ready).toBe(true);
    await deployer.deployCanary();
    await deployer.scaleCanary();
    await deployer.promoteStable();
    await deployer.restoreStable();
    await deployer.scaleDownCanary();
    expect((await deployer.stableHealth()).ready).toBe(true);

    expect(elb.calls()).toHaveLength(1);
    expect(ecs.calls()).toHaveLength(0);
  });

  it('canaryCapacity: ready once the canary target group has a healthy target (the group is sized elsewhere)', async () => {
    const deployer = new NoDeployer(elbClient, { retry: fastRetry().retry });
    const config = serviceConfig({ deployer: { kind: 'none' } });
    elb
      .on(DescribeTargetHealthCommand)
      .resolvesOnce({
        TargetHealthDescriptions: [
          { Target: { Id: '10.0.1.12', Port: 8080 }, TargetHealth: { State: 'initial' } },
        ],
      })
      .resolves(healthyTargets);

    const starting = await deployer.canaryCapacity(config, route(), 50);
    const serving = await deployer.canaryCapacity(config, route(), 50);

    expect(starting).toMatchObject({ ready: false, healthy: 0 });
    expect(serving).toMatchObject({ ready: true, healthy: 2 });
    expect(serving.needed).toBeUndefined();
    expect(elb.commandCalls(DescribeTargetHealthCommand).map((c) => c.args[0].input)).toEqual([
      { TargetGroupArn: CANARY_TG },
      { TargetGroupArn: CANARY_TG },
    ]);
    expect(ecs.calls()).toHaveLength(0);
  });
});

describe('makeDeployerFor', () => {
  const deployerFor = makeDeployerFor({ ecs: ecsClient, elbv2: elbClient });

  it('gives the ECS deployer for kind ecs (one instance) and the no-op deployer for none', () => {
    const ecsDeployer = deployerFor(serviceConfig());
    expect(ecsDeployer).toBeInstanceOf(EcsDeployer);
    expect(deployerFor(serviceConfig())).toBe(ecsDeployer);
    expect(deployerFor(serviceConfig({ deployer: { kind: 'none' } }))).toBeInstanceOf(NoDeployer);
  });

  it('an unknown kind is ConfigInvalid naming deployer.kind, never a fallback', () => {
    const config = { ...serviceConfig(), deployer: { kind: 'lambda' } } as unknown as ServiceConfig;

    expect(() => deployerFor(config)).toThrow(ConfigInvalidError);
    try {
      deployerFor(config);
    } catch (error) {
      expect((error as ConfigInvalidError).issues).toEqual([
        { path: 'deployer.kind', message: 'unknown deployer kind "lambda": expected "ecs" or "none"' },
      ]);
    }
  });

  it('does not take prototype keys for kinds', () => {
    const config = { ...serviceConfig(), deployer: { kind: 'toString' } } as unknown as ServiceConfig;
    expect(() => deployerFor(config)).toThrow(ConfigInvalidError);
  });
});
