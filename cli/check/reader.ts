/**
 * What `canary check` reads in the account: the read-only Describe calls and the IAM policy simulation, each
 * turned into a Read (found, missing, or failed) for the pure checks.
 */
import { CloudWatchClient, DescribeAlarmsCommand } from '@aws-sdk/client-cloudwatch';
import { DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { DescribeServicesCommand, DescribeTaskDefinitionCommand, ECSClient } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  ElasticLoadBalancingV2Client,
  type Rule,
  type Tag,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { IAMClient } from '@aws-sdk/client-iam';
import { LambdaClient } from '@aws-sdk/client-lambda';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { GetGroupsCommand, XRayClient } from '@aws-sdk/client-xray';
import { type DescribedAlarms, describeAlarms } from '../../functions/adapters/aws/cloudwatch-alarms';
import { AccessDeniedError, AwsCaller, errorName, SDK_CLIENT_CONFIG } from '../../functions/adapters/aws/sdk';
import { albTraffic, type ServiceConfig } from '../../functions/core/config';
import { headerRuleCandidates } from '../../functions/core/route-checks';
import type { Read } from './findings';
import type { CallFacts } from './permissions';
import type { EcsAccount } from './resources';
import type { RouteAccount } from './route';
import { type TaggedResource, taggedResources } from './tags';

export interface CheckClients {
  elbv2: ElasticLoadBalancingV2Client;
  ecs: ECSClient;
  cloudwatch: CloudWatchClient;
  ecr: ECRClient;
  iam: IAMClient;
  xray: XRayClient;
  /** Weighted records' services only (built on first use otherwise: cli/check/records.ts). */
  route53?: Route53Client;
  /** The Lambda client of a region (a hook function's): Lambda hooks only. */
  lambdaIn?: (region: string) => Pick<LambdaClient, 'send'>;
}

/** A Lambda client per region, each built on first use. */
export function lambdaClients(): (region: string) => LambdaClient {
  const clients = new Map<string, LambdaClient>();
  return (region) => {
    let client = clients.get(region);
    if (!client) {
      client = new LambdaClient({ ...SDK_CLIENT_CONFIG, region });
      clients.set(region, client);
    }
    return client;
  };
}

export function checkClients(region: string): CheckClients {
  const config = { ...SDK_CLIENT_CONFIG, region };
  return {
    elbv2: new ElasticLoadBalancingV2Client(config),
    ecs: new ECSClient(config),
    cloudwatch: new CloudWatchClient(config),
    ecr: new ECRClient(config),
    iam: new IAMClient(config),
    xray: new XRayClient(config),
    lambdaIn: lambdaClients(),
  };
}

/** The names of the account's active X-Ray groups (GetGroups, all pages). */
export async function listXrayGroups(xray: XRayClient): Promise<string[]> {
  const names: string[] = [];
  let token: string | undefined;
  do {
    const out = await xray.send(new GetGroupsCommand(token ? { NextToken: token } : {}));
    for (const g of out.Groups ?? []) if (g.GroupName) names.push(g.GroupName);
    token = out.NextToken;
  } while (token);
  return names;
}

/** The read-only calls, each turned into a Read: found, missing (the API's not-found error), or failed. */
export class Reader {
  private readonly aws = new AwsCaller();

  constructor(private readonly c: CheckClients) {}

  /** One read-only call as a Read: found, missing (the API's not-found error), or failed. */
  async read<T>(
    action: string,
    resource: string,
    fn: () => Promise<T>,
    notFound: Record<string, string> = {},
  ): Promise<Read<T>> {
    try {
      return { found: await this.aws.call(action, resource, fn) };
    } catch (error) {
      const missing = notFound[errorName(error)];
      if (missing !== undefined) return { missing };
      if (error instanceof AccessDeniedError) return { failed: `${action} was denied to you` };
      return { failed: `${action}: ${errorName(error)}: ${(error as Error).message}` };
    }
  }

  async route(config: ServiceConfig): Promise<RouteAccount> {
    const t = albTraffic(config.traffic);
    const elb = this.c.elbv2;
    const listenerRead = this.read(
      'elasticloadbalancing:DescribeListeners',
      t.listenerArn,
      async () => {
        const out = await elb.send(new DescribeListenersCommand({ ListenerArns: [t.listenerArn] }));
        const listener = out.Listeners?.[0];
        if (!listener) throw Object.assign(new Error('no listener'), { name: 'ListenerNotFoundException' });
        return listener;
      },
      { ListenerNotFoundException: `listener ${t.listenerArn} does not exist` },
    );
    const rulesRead = this.read(
      'elasticloadbalancing:DescribeRules',
      t.listenerArn,
      async () => {
        const rules: Rule[] = [];
        let marker: string | undefined;
        do {
          const out = await elb.send(
            new DescribeRulesCommand({ ListenerArn: t.listenerArn, ...(marker ? { Marker: marker } : {}) }),
          );
          rules.push(...(out.Rules ?? []));
          marker = out.NextMarker;
        } while (marker);
        return rules;
      },
      { ListenerNotFoundException: `listener ${t.listenerArn} does not exist` },
    );
    const arns = [t.stableTargetGroupArn, t.canaryTargetGroupArn];
    const [listener, rules, ...groups] = await Promise.all([
      listenerRead,
      rulesRead,
      ...arns.map((arn) =>
        this.read(
          'elasticloadbalancing:DescribeTargetGroups',
          arn,
          async () => {
            const out = await elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [arn] }));
            const group = out.TargetGroups?.[0];
            if (!group)
              throw Object.assign(new Error('no target group'), { name: 'TargetGroupNotFoundException' });
            return group;
          },
          { TargetGroupNotFoundException: `target group not found: ${arn}` },
        ),
      ),
    ]);
    const targetGroups: RouteAccount['targetGroups'] = {};
    const attributes: RouteAccount['attributes'] = {};
    await Promise.all(
      arns.map(async (arn, i) => {
        const group = groups[i] as Read<never>;
        targetGroups[arn] = group;
        if (!('found' in group)) return;
        attributes[arn] = await this.read(
          'elasticloadbalancing:DescribeTargetGroupAttributes',
          arn,
          async () =>
            (await elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))).Attributes ??
            [],
          { TargetGroupNotFoundException: `target group not found: ${arn}` },
        );
      }),
    );
    const ruleTags =
      t.headerRule && 'found' in rules
        ? await this.ruleTags(headerRuleCandidates(t, rules.found))
        : undefined;
    return {
      listener,
      rules,
      targetGroups,
      attributes,
      ...(ruleTags ? { ruleTags } : {}),
    };
  }

  /** DescribeTags of rules, at most 20 ARNs a call (the API's limit). */
  private async ruleTags(ruleArns: string[]): Promise<Read<Record<string, Tag[]>>> {
    return this.read('elasticloadbalancing:DescribeTags', ruleArns.join(', '), async () => {
      const tags: Record<string, Tag[]> = {};
      for (let i = 0; i < ruleArns.length; i += 20) {
        const out = await this.c.elbv2.send(
          new DescribeTagsCommand({ ResourceArns: ruleArns.slice(i, i + 20) }),
        );
        for (const d of out.TagDescriptions ?? []) if (d.ResourceArn) tags[d.ResourceArn] = d.Tags ?? [];
      }
      return tags;
    });
  }

  async ecs(config: ServiceConfig): Promise<EcsAccount> {
    const d = config.deployer;
    if (d.kind !== 'ecs') return { services: { found: { services: [], failures: [] } } };
    const services = await this.read(
      'ecs:DescribeServices',
      `${d.stableService}, ${d.canaryService} in cluster ${d.cluster}`,
      async () => {
        const out = await this.c.ecs.send(
          new DescribeServicesCommand({
            cluster: d.cluster,
            services: [d.stableService, d.canaryService],
            include: ['TAGS'],
          }),
        );
        return { services: out.services ?? [], failures: out.failures ?? [] };
      },
      { ClusterNotFoundException: `ECS cluster ${d.cluster} does not exist` },
    );
    const stable =
      'found' in services
        ? services.found.services.find((s) => s.serviceName === d.stableService && s.status === 'ACTIVE')
        : undefined;
    const arn = stable?.taskDefinition;
    if (!arn) return { services };
    const taskDefinition = await this.read(
      'ecs:DescribeTaskDefinition',
      arn,
      async () => {
        const out = await this.c.ecs.send(
          new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] }),
        );
        if (!out.taskDefinition)
          throw Object.assign(new Error('no task definition'), { name: 'ClientException' });
        return { taskDefinition: out.taskDefinition, tags: out.tags ?? [] };
      },
      { ClientException: `task definition ${arn} does not exist` },
    );
    return { services, taskDefinition };
  }

  async alarms(config: ServiceConfig): Promise<Read<DescribedAlarms> | undefined> {
    const names = [...new Set(config.analysis.alarms)];
    if (names.length === 0) return undefined;
    return this.read('cloudwatch:DescribeAlarms', names.join(', '), () =>
      describeAlarms(names, (input) => this.c.cloudwatch.send(new DescribeAlarmsCommand(input))),
    );
  }

  async repository(config: ServiceConfig) {
    return this.read(
      'ecr:DescribeRepositories',
      config.repository,
      async () => {
        const out = await this.c.ecr.send(
          new DescribeRepositoriesCommand({ repositoryNames: [config.repository] }),
        );
        const repository = out.repositories?.[0];
        if (!repository)
          throw Object.assign(new Error('no repository'), { name: 'RepositoryNotFoundException' });
        return repository;
      },
      { RepositoryNotFoundException: `ECR repository ${config.repository} does not exist` },
    );
  }

  /** The resources rollouts change, with their controller tag (tags.ts). */
  async taggedResources(config: ServiceConfig, ecs: EcsAccount, facts: CallFacts): Promise<TaggedResource[]> {
    return taggedResources((...args) => this.read(...args), this.c, config, ecs, facts);
  }

  /** The names of the account's active X-Ray groups. */
  async xrayGroups(): Promise<Read<string[]>> {
    return this.read('xray:GetGroups', '*', () => listXrayGroups(this.c.xray));
  }
}
