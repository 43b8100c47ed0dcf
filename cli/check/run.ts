/**
 * `canary check`: reads what each service's config names in the account (read-only Describe calls and IAM policy
 * simulation) and runs the pure checks over it. Loaded only for this command, so the other commands never load
 * the IAM, ECS, ELB or CloudWatch clients.
 */
import type { DescribedAlarms } from '../../functions/adapters/aws/cloudwatch-alarms';
import { type ServiceConfig, xrayGroupNames } from '../../functions/core/config';
import { type FunctionHome, grantedByTag, hookFunctionArns } from '../../functions/core/hook-functions';
import { isOwnHeaderRule } from '../../functions/core/route-checks';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { type Finding, type Read, type ServiceReport, sorted } from './findings';
import { hookFindings, hookTagFinding, hookTargets, readHookFunctions, readHookTags } from './hooks';
import { metricFindings, metricProbes, readMetrics } from './metrics';
import {
  type Call,
  type CallFacts,
  type Decision,
  FUNCTION_NEEDS,
  permissionFindings,
  requiredCalls,
} from './permissions';
import { type CheckClients, lambdaClients, Reader } from './reader';
import { readRecords, recordFindings, route53Client } from './records';
import { alarmFindings, type EcsAccount, ecsFindings, repositoryFindings, xrayFindings } from './resources';
import { albFindings, type RouteAccount } from './route';
import { CheckSettingError, type CheckSettings } from './settings';
import { simulateAll } from './simulation';
import { controllerTagFindings } from './tags';

/** Check every configured service, or the one named. */
export async function runCheck(
  settings: CheckSettings,
  clients: CheckClients,
  only?: string,
): Promise<ServiceReport[]> {
  const configs = only ? settings.configs.filter((c) => c.service === only) : settings.configs;
  if (only && configs.length === 0)
    throw new CheckSettingError(
      `unknown service "${only}" (SERVICES_JSON has: ${settings.configs.map((c) => c.service).join(', ')})`,
    );
  const read: ReadService[] = [];
  for (const config of configs) read.push(await readService(config, settings, clients));
  // The IAM simulation of every service at once: the calls they share are simulated once (cli/check/simulation.ts).
  const { roles, controllerTag } = settings;
  const simulations = roles
    ? await simulateAll(
        clients.iam,
        roles,
        read.map((r) => functionCalls(r.config, r.facts)),
      )
    : read.map(() => ({ kind: 'no-roles' as const }));
  // The stack grants run-hook by ARN or by tag from every config's hook functions, not only the checked ones'.
  const home = settings.configs[0] ? functionHome(settings.configs[0], settings) : undefined;
  const byTag = home !== undefined && grantedByTag(hookFunctionArns(settings.configs, home));
  return read.map((r, i) => {
    const tags = r.facts.hookFunctionTags;
    const grant = { ...(tags ? { tags } : {}), ...(controllerTag ? { controllerTag } : {}), byTag };
    const explain = (d: Decision) => hookTagFinding(d, grant);
    const simulation = simulations[i] ?? { kind: 'no-roles' as const };
    const iam = permissionFindings(r.config, simulation, explain);
    return { service: r.config.service, findings: sorted([...r.findings, ...iam]) };
  });
}

/** Each function's calls on the service (the functions with none left out). */
function functionCalls(config: ServiceConfig, facts: CallFacts): Record<string, Call[]> {
  return Object.fromEntries(
    Object.entries(FUNCTION_NEEDS)
      .map(([fn, needs]) => [fn, requiredCalls(needs, config, facts)] as const)
      .filter(([, calls]) => calls.length > 0),
  );
}

/** A service as read: the findings of its checks but IAM, and the facts its IAM calls are built from. */
interface ReadService {
  config: ServiceConfig;
  findings: Finding[];
  facts: CallFacts;
}

async function readService(
  config: ServiceConfig,
  settings: CheckSettings,
  clients: CheckClients,
): Promise<ReadService> {
  const { roles, controllerTag, configTableArn } = settings;
  const reader = new Reader(clients);
  const read: Reader['read'] = (...args) => reader.read(...args);
  const groups = xrayGroupNames(config);
  const probes = metricProbes(config);
  const hooks = hookTargets(config, settings.region);
  const lambdaHooks = hooks.some((h) => h.lambda !== undefined);
  const lambdaIn = clients.lambdaIn ?? lambdaClients();
  const [route, ecs, alarms, repository, xray, metrics, functions] = await Promise.all([
    config.traffic.kind === 'alb' ? reader.route(config) : undefined,
    reader.ecs(config),
    reader.alarms(config),
    reader.repository(config),
    groups.length > 0 ? reader.xrayGroups() : undefined,
    readMetrics(read, clients.cloudwatch, probes),
    lambdaHooks ? readHookFunctions(read, lambdaIn, hooks) : [],
  ]);
  const t = config.traffic;
  const findings: Finding[] = [
    ...(t.kind === 'alb' && route ? albFindings(t, route) : []),
    ...(t.kind === 'route53'
      ? recordFindings(t, await readRecords(clients.route53 ?? route53Client(), { ...config, traffic: t }))
      : []),
    ...ecsFindings(config, ecs),
    ...alarmFindings(config, alarms),
    ...repositoryFindings(config, repository),
    ...xrayFindings(groups, xray),
    ...metricFindings(config.service, probes, metrics),
    ...hookFindings(config.service, hooks, functions),
  ];
  const facts = callFacts(config, route, ecs, alarms, groups);
  if (configTableArn) facts.configTableArn = configTableArn;
  const home = functionHome(config, settings);
  if (lambdaHooks) facts.hookFunctionArns = hookFunctionArns([config], home);
  // The functions' tags are the simulation's context keys: read when it runs.
  if (lambdaHooks && roles)
    facts.hookFunctionTags = await readHookTags(read, lambdaIn, hooks, functions, home);
  // Weighted records carry no controller tag: their IAM is scoped by zone, name and type instead.
  if (controllerTag && t.kind === 'alb') {
    const tagged = await reader.taggedResources(config, ecs, facts);
    findings.push(...controllerTagFindings(controllerTag, tagged));
    const controllerTags: Record<string, string> = Object.fromEntries(
      tagged.flatMap((r) => (typeof r.value === 'string' ? [[r.arn, r.value]] : [])),
    );
    facts.controllerTags = controllerTags;
    facts.controllerTag = controllerTag;
    // The header rule's own controller tag (its tags were read to find it): changing it needs this controller's.
    const ruleTags = route?.ruleTags && 'found' in route.ruleTags ? route.ruleTags.found : {};
    const headerRuleTag = facts.headerRuleArn
      ? ruleTags[facts.headerRuleArn]?.find((t) => t.Key === CONTROLLER_TAG_KEY)?.Value
      : undefined;
    if (facts.headerRuleArn && headerRuleTag !== undefined)
      controllerTags[facts.headerRuleArn] = headerRuleTag;
  }
  return { config, findings, facts };
}

/** Where run-hook invokes a hook function named by its name: the controller's region and account (the roles'). */
function functionHome(config: ServiceConfig, settings: CheckSettings): FunctionHome {
  const role = Object.values(settings.roles ?? {})[0]?.split(':');
  return {
    partition: role?.[1] ?? partitionOf(config),
    region: settings.region,
    account: role?.[4] ?? accountOf(config),
  };
}

/** The facts the IAM calls need, from what was read (the configured names where nothing could be read). */
function callFacts(
  config: ServiceConfig,
  route: RouteAccount | undefined,
  ecs: EcsAccount,
  alarms: Read<DescribedAlarms> | undefined,
  xrayGroups: string[],
): CallFacts {
  const services = 'found' in ecs.services ? ecs.services.found.services : [];
  const d = config.deployer;
  const serviceArns =
    d.kind === 'ecs'
      ? [d.stableService, d.canaryService].map(
          (name) =>
            services.find((s) => s.serviceName === name)?.serviceArn ??
            `arn:aws:ecs:${regionOf(config)}:${accountOf(config)}:service/${d.cluster}/${name}`,
        )
      : [];
  const td = ecs.taskDefinition && 'found' in ecs.taskDefinition ? ecs.taskDefinition.found : undefined;
  const found = alarms && 'found' in alarms ? alarms.found : { metric: [], composite: [] };
  const t = config.traffic;
  const tags = route?.ruleTags && 'found' in route.ruleTags ? route.ruleTags.found : {};
  const headerRule =
    t.kind === 'alb' && t.headerRule && route && 'found' in route.rules
      ? route.rules.found.find((r) => !r.IsDefault && r.RuleArn && isOwnHeaderRule(t, tags[r.RuleArn] ?? []))
      : undefined;
  return {
    serviceArns,
    ...(td?.taskDefinition.taskDefinitionArn
      ? { taskDefinitionArn: td.taskDefinition.taskDefinitionArn }
      : {}),
    // A task definition may name its roles by name (RegisterTaskDefinition: "short name or full ARN").
    passRoles: [td?.taskDefinition.taskRoleArn, td?.taskDefinition.executionRoleArn]
      .filter((r): r is string => typeof r === 'string' && r !== '')
      .map((r) =>
        r.startsWith('arn:') ? r : `arn:${partitionOf(config)}:iam::${accountOf(config)}:role/${r}`,
      ),
    taskDefinitionTagged: (td?.tags ?? []).some((tag) => tag.key && !tag.key.startsWith('aws:')),
    alarmArns: found.metric.flatMap((a) => (a.AlarmArn ? [a.AlarmArn] : [])),
    composite: found.composite.length > 0,
    ...(headerRule?.RuleArn ? { headerRuleArn: headerRule.RuleArn } : {}),
    xrayGroups,
  };
}

/** An ARN of the service's region and account: its listener's, or its stable load balancer's. */
const arnOf = (c: ServiceConfig) =>
  c.traffic.kind === 'route53' ? c.traffic.stable.loadBalancerArn : c.traffic.listenerArn;
const partitionOf = (c: ServiceConfig) => arnOf(c).split(':')[1] ?? 'aws';
const regionOf = (c: ServiceConfig) => arnOf(c).split(':')[3] ?? '';
const accountOf = (c: ServiceConfig) => arnOf(c).split(':')[4] ?? '';
