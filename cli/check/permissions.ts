/**
 * Can the controller's functions make their calls on this service's resources? What each function calls is listed
 * here per capability (from the task registry, functions/tasks/registry.ts, as infra/permissions.ts grants them:
 * routes, deploys, metrics, notifications), turned into concrete (action, resource, context) calls from the
 * described account, and judged from IAM policy simulation results (iam:SimulatePrincipalPolicy). Pure.
 */
import type { ServiceConfig } from '../../functions/core/config';
import { HEADER_RULE_TAG } from '../../functions/core/route-checks';
import { ANNOUNCE, CONTROLLER_TAG_KEY, TASKS, type TaskEntry } from '../../functions/tasks/registry';
import { error, type Finding, notChecked, ok, type Read } from './findings';
import { hookInvokeCalls } from './hooks';

export interface FunctionNeeds {
  /** ALB listener/rule changes and reads (the traffic router); `read`: reads only (analyze's drift check). */
  routes?: boolean | 'read';
  /** ECS: read (health), update (scale, promote, restore), register (a canary task definition). */
  deploys?: 'read' | 'update' | 'register';
  /** CloudWatch: baseline (metrics), judge (metrics and the gating alarms). */
  metrics?: 'baseline' | 'alarms' | 'judge';
  /** The service's own notification channels (SNS topic, PagerDuty secret, their keys). */
  notifies?: boolean;
  /**
   * Puts rollout state-change events on the controller's own bus (events:PutEvents, granted by the stack on its
   * bus, not on a service's resources: not simulated per service).
   */
  announces?: boolean;
  /**
   * Reads the service's config from the service-config table (the catalog: dynamodb:GetItem on the table,
   * infra/service-configs.ts), the functions whose handler reads CONFIG_TABLE_NAME.
   */
  readsConfigs?: boolean;
  /** Invokes the Lambda functions the config's hooks name (lambda:InvokeFunction on each). */
  hooks?: boolean;
}

/**
 * The controller's functions and what each does to a service's resources, from the task registry (the entries the
 * stack deploys and grants by; the optional approval page touches no service resource).
 */
export const FUNCTION_NEEDS: Record<string, FunctionNeeds> = Object.fromEntries(
  Object.entries(TASKS).map(([name, task]) => [name, functionNeeds(task)]),
);

function functionNeeds(task: TaskEntry): FunctionNeeds {
  return {
    ...(task.routes ? { routes: task.routes } : {}),
    ...(task.deploys ? { deploys: task.deploys } : {}),
    ...(task.metrics ? { metrics: task.metrics } : {}),
    ...(task.env.includes('SNS_TOPIC_ARN') ? { notifies: true } : {}),
    ...(task.env.includes(ANNOUNCE) ? { announces: true } : {}),
    ...(task.env.includes('CONFIG_TABLE_NAME') ? { readsConfigs: true } : {}),
    ...(task.hooks ? { hooks: true } : {}),
  };
}

/** One call a function makes: the IAM action, the resource it is authorized on, and the request's context keys. */
export interface Call {
  action: string;
  /** An ARN, or "*" for actions without resource-level permissions. */
  resource: string;
  context?: Record<string, string>;
}

/** What the account told about the service, as far as the calls need it. */
export interface CallFacts {
  /** The ECS services' ARNs as ECS reports them (short or long format). */
  serviceArns: string[];
  /** The stable task definition: its ARN, roles, and whether it has tags (RegisterTaskDefinition then tags). */
  taskDefinitionArn?: string;
  passRoles: string[];
  taskDefinitionTagged: boolean;
  /** The gating alarms' ARNs; `composite` when one of them is a composite alarm. */
  alarmArns: string[];
  composite: boolean;
  /** The controller's header rule on the listener, when one exists. */
  headerRuleArn?: string;
  /** The X-Ray groups the analysis reads (none when the config does not select X-Ray statistics). */
  xrayGroups: string[];
  /**
   * When the resources' tags were read (CONTROLLER_TAG set): ARN → the value of its `canary-controller` tag, for
   * each resource that has one. The controller's policies allow changes only by that tag (aws:ResourceTag /
   * aws:RequestTag conditions), and IAM policy simulation does not read tags: they go in as context keys.
   */
  controllerTags?: Record<string, string>;
  /** This controller's id (CONTROLLER_TAG), when tags were read: the header rule is created with it. */
  controllerTag?: string;
  /** The stack's service-config table (CONFIG_TABLE_NAME), when known: the catalog reads the service's item. */
  configTableArn?: string;
  /** The ARNs of the hook functions the config names, as run-hook invokes them (core/hook-functions.ts). */
  hookFunctionArns?: string[];
  /** Their `canary-controller` tags (undefined: none), when read (cli/check/hooks.ts): run-hook's context keys. */
  hookFunctionTags?: Record<string, Read<string | undefined>>;
}

/** `arn:…:listener-rule/app/<lb>/<id>/<listener>/*`: any rule the controller may create on the listener. */
function newRuleArn(listenerArn: string): string {
  return `${listenerArn.replace(':listener/', ':listener-rule/')}/*`;
}

/** The next revision of a task definition's family: what RegisterTaskDefinition creates. */
export function nextRevisionArn(taskDefinitionArn: string): string {
  const m = /^(.*:task-definition\/[^:]+):(\d+)$/.exec(taskDefinitionArn);
  return m ? `${m[1]}:${Number(m[2]) + 1}` : taskDefinitionArn;
}

const ELB_DESCRIBE = [
  'elasticloadbalancing:DescribeListeners',
  'elasticloadbalancing:DescribeRules',
  'elasticloadbalancing:DescribeTargetGroups',
  'elasticloadbalancing:DescribeTargetHealth',
];
/** What the traffic router reads besides: group stickiness needs the target groups' attributes, the header rule its tags. */
const ROUTE_DESCRIBE = [
  'elasticloadbalancing:DescribeTargetGroupAttributes',
  'elasticloadbalancing:DescribeTags',
];

/**
 * Weighted records: read and UPSERT the two records of the name in its zone (the request context the condition keys
 * of the controller's policy compare, infra/route53-permissions.ts), follow the change.
 */
function route53Calls(
  routes: true | 'read',
  t: Extract<ServiceConfig['traffic'], { kind: 'route53' }>,
  add: (actions: string[], resource: string, context?: Record<string, string>) => void,
) {
  const zone = `arn:aws:route53:::hostedzone/${t.hostedZoneId}`;
  add(['route53:ListResourceRecordSets'], zone);
  if (routes !== true) return;
  add(['route53:ChangeResourceRecordSets'], zone, {
    'route53:ChangeResourceRecordSetsActions': 'UPSERT',
    'route53:ChangeResourceRecordSetsRecordTypes': t.recordType,
    'route53:ChangeResourceRecordSetsNormalizedRecordNames': t.recordName,
  });
  add(['route53:GetChange'], 'arn:aws:route53:::change/*');
}

export function requiredCalls(needs: FunctionNeeds, config: ServiceConfig, facts: CallFacts): Call[] {
  const calls: Call[] = [];
  const add = (actions: string[], resource: string, context?: Record<string, string>) => {
    for (const action of actions) calls.push({ action, resource, ...(context ? { context } : {}) });
  };
  const t = config.traffic.kind === 'alb' ? config.traffic : undefined;
  // The request context IAM would see: the resource's controller tag (absent when untagged), when tags were read.
  const tagged = (arn: string, more?: Record<string, string>) => {
    const value = facts.controllerTags?.[arn];
    const context = {
      ...(value !== undefined ? { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: value } : {}),
      ...more,
    };
    return Object.keys(context).length > 0 ? context : undefined;
  };
  const withTags = facts.controllerTags !== undefined;
  if (needs.routes || needs.deploys) add(ELB_DESCRIBE, '*');
  if (needs.routes && t) add(ROUTE_DESCRIBE, '*');
  if (needs.routes && config.traffic.kind === 'route53') route53Calls(needs.routes, config.traffic, add);
  if (needs.routes === true && t) {
    const headerOwner = t.ruleArn ?? t.listenerArn;
    if (t.ruleArn) add(['elasticloadbalancing:ModifyRule'], t.ruleArn, tagged(t.ruleArn));
    else add(['elasticloadbalancing:ModifyListener'], t.listenerArn, tagged(t.listenerArn));
    if (t.headerRule) {
      // CreateRule is authorized on the listener and on the rule it creates (whose ID is not known before), with
      // the header rule's tag in the request; the rule once created carries it.
      const rule = facts.headerRuleArn ?? newRuleArn(t.listenerArn);
      // The controller tags the header rule with its id too, and may change only header rules that carry it.
      const own = facts.controllerTag;
      const creating = {
        'elasticloadbalancing:CreateAction': 'CreateRule',
        ...(withTags ? { [`aws:RequestTag/${HEADER_RULE_TAG}`]: headerOwner } : {}),
        ...(withTags && own !== undefined ? { [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: own } : {}),
      };
      const ruleTag = facts.headerRuleArn ? facts.controllerTags?.[facts.headerRuleArn] : own;
      add(['elasticloadbalancing:CreateRule'], t.listenerArn, tagged(t.listenerArn));
      add(['elasticloadbalancing:CreateRule'], newRuleArn(t.listenerArn), withTags ? creating : undefined);
      add(
        [
          'elasticloadbalancing:ModifyRule',
          'elasticloadbalancing:DeleteRule',
          'elasticloadbalancing:SetRulePriorities',
        ],
        rule,
        withTags
          ? {
              [`aws:ResourceTag/${HEADER_RULE_TAG}`]: headerOwner,
              ...(ruleTag !== undefined ? { [`aws:ResourceTag/${CONTROLLER_TAG_KEY}`]: ruleTag } : {}),
            }
          : undefined,
      );
      // CreateRule with Tags (the header rule is tagged as the controller's) is authorized as AddTags too
      // (ELB user guide: permissions to tag resources during creation).
      add(['elasticloadbalancing:AddTags'], newRuleArn(t.listenerArn), creating);
    }
  }
  if (needs.deploys && config.deployer.kind === 'ecs') ecsDeployCalls(needs.deploys, facts, add, tagged);
  if (needs.metrics) {
    add(['cloudwatch:GetMetricData'], '*');
    if (needs.metrics !== 'baseline' && config.analysis.alarms.length > 0) {
      // Composite alarms are returned only to a DescribeAlarms permission on "*" (CloudWatch API reference,
      // DescribeAlarms); metric alarms to one on their ARNs.
      if (facts.composite) add(['cloudwatch:DescribeAlarms'], '*');
      else for (const arn of facts.alarmArns) add(['cloudwatch:DescribeAlarms'], arn);
    }
    if (needs.metrics === 'judge' && facts.xrayGroups.length > 0)
      add(['xray:GetTimeSeriesServiceStatistics'], '*');
  }
  // The catalog reads the service's config item by item (GetItem on the table: infra/service-configs.ts).
  if (needs.readsConfigs && facts.configTableArn) add(['dynamodb:GetItem'], facts.configTableArn);
  if (needs.hooks) for (const c of hookInvokeCalls(facts)) add([c.action], c.resource, c.context);
  if (needs.notifies) {
    const n = config.notifications;
    if (n.snsTopicArn) add(['sns:Publish'], n.snsTopicArn);
    if (n.snsKmsKeyArn) add(['kms:GenerateDataKey', 'kms:Decrypt'], n.snsKmsKeyArn);
    if (n.pagerDuty) add(['secretsmanager:GetSecretValue'], n.pagerDuty.routingKeySecretArn);
    if (n.pagerDuty?.kmsKeyArn) add(['kms:Decrypt'], n.pagerDuty.kmsKeyArn);
  }
  return calls;
}

/** The ECS calls of a function that reads or deploys an `ecs` deployer's services (and the roles it passes). */
function ecsDeployCalls(
  deploys: NonNullable<FunctionNeeds['deploys']>,
  facts: CallFacts,
  add: (actions: string[], resource: string, context?: Record<string, string>) => void,
  tagged: (arn: string, more?: Record<string, string>) => Record<string, string> | undefined,
): void {
  for (const arn of facts.serviceArns)
    add(['ecs:DescribeServices', ...(deploys === 'read' ? [] : ['ecs:UpdateService'])], arn, tagged(arn));
  if (deploys !== 'read' && facts.taskDefinitionArn)
    add(['ecs:DescribeTaskDefinition'], facts.taskDefinitionArn);
  if (deploys === 'register' && facts.taskDefinitionArn) {
    const next = nextRevisionArn(facts.taskDefinitionArn);
    // The stable revision's tags are copied to the new one: its controller tag is in the request.
    const value = facts.controllerTags?.[facts.taskDefinitionArn];
    const requestTag = value !== undefined ? { [`aws:RequestTag/${CONTROLLER_TAG_KEY}`]: value } : undefined;
    add(['ecs:RegisterTaskDefinition'], next, requestTag);
    if (facts.taskDefinitionTagged)
      add(['ecs:TagResource'], next, { 'ecs:CreateAction': 'RegisterTaskDefinition', ...requestTag });
  }
  // UpdateService lists iam:PassRole as a dependent action (Service Authorization Reference, Amazon ECS), and
  // RegisterTaskDefinition passes the task definition's roles: both only to ECS tasks.
  if (deploys !== 'read')
    for (const role of facts.passRoles)
      add(['iam:PassRole'], role, tagged(role, { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' }));
}

/** A call's identity: action, resource and context (the same call of another service is simulated once). */
export const callKey = (c: Call) => `${c.action}|${c.resource}|${JSON.stringify(c.context ?? {})}`;

/** One SimulatePrincipalPolicy request: every action evaluated for every resource, with one request context. */
export interface SimulationBatch {
  actions: string[];
  /** ARNs, or ["*"] alone: the request then names no resource. */
  resources: string[];
  context?: Record<string, string>;
}

/**
 * The calls as few requests: the actions of one resource and context together, and the resources with the same
 * actions and context together, at most `maxResources` a request (IAM API reference, SimulatePrincipalPolicy: each
 * action is evaluated for each resource, under the request's context entries). Nothing is simulated that was not
 * asked for.
 */
export function simulationBatches(calls: readonly Call[], maxResources: number): SimulationBatch[] {
  const perResource = new Map<
    string,
    { resource: string; context?: Record<string, string>; actions: Set<string> }
  >();
  for (const c of calls) {
    const key = `${c.resource}|${JSON.stringify(c.context ?? {})}`;
    const entry = perResource.get(key) ?? {
      resource: c.resource,
      ...(c.context ? { context: c.context } : {}),
      actions: new Set<string>(),
    };
    entry.actions.add(c.action);
    perResource.set(key, entry);
  }
  const batches = new Map<string, SimulationBatch>();
  for (const r of perResource.values()) {
    const actions = [...r.actions].sort();
    const key = `${actions.join(',')}|${JSON.stringify(r.context ?? {})}|${r.resource === '*'}`;
    const batch = batches.get(key) ?? {
      actions,
      resources: [],
      ...(r.context ? { context: r.context } : {}),
    };
    batch.resources.push(r.resource);
    batches.set(key, batch);
  }
  return [...batches.values()].flatMap((b) =>
    Array.from({ length: Math.ceil(b.resources.length / maxResources) }, (_, i) => ({
      ...b,
      resources: b.resources.slice(i * maxResources, (i + 1) * maxResources),
    })),
  );
}

/** One simulated call: which function's role, the decision, and the context keys the policies wanted but did not get. */
export interface Decision {
  fn: string;
  role: string;
  action: string;
  resource: string;
  decision: string;
  missingContext?: string[];
}

export type Simulation =
  | { kind: 'no-roles' }
  | { kind: 'failed'; reason: string; fix: string }
  | { kind: 'simulated'; decisions: Decision[]; unknownFunctions: string[] };

function fixFor(d: Decision, config: ServiceConfig): string {
  if (d.missingContext?.some((k) => k.startsWith(`aws:ResourceTag/${CONTROLLER_TAG_KEY}`)))
    return `tag ${d.resource} with ${CONTROLLER_TAG_KEY} = the controller's id (the stack's ControllerTag output): its policies allow changes only to resources with that tag`;
  if (d.decision === 'explicitDeny')
    return 'an explicit Deny (an identity policy, permissions boundary or service control policy) blocks it: lift it for the controller';
  if (d.action === 'iam:PassRole')
    return `set deployer.taskRoleArn / deployer.executionRoleArn to ${d.resource} and deploy the stack (it grants iam:PassRole on those roles only)`;
  if (d.action === 'lambda:InvokeFunction')
    return `deploy the controller's stack with ${config.service}'s config (run-hook may invoke only the hook functions the configs name); a function of another account must also allow run-hook's role in its resource-based policy`;
  if (d.action === 'cloudwatch:DescribeAlarms' && d.resource === '*')
    return 'a composite gating alarm is described only with cloudwatch:DescribeAlarms on "*": grant it unscoped';
  if (d.action.startsWith('ecs:') && /:service\/[^/]+$/.test(d.resource))
    return `the service has the short ARN format: deploy the controller's stack with ${config.service}'s config (it grants both formats), or migrate the service to the long format`;
  return `deploy the controller's stack with ${config.service} in its service configs (its grants are scoped to the configured resources)`;
}

/** `explain`: a finding in a denial's own words where one knows them (a hook function's tag: cli/check/hooks.ts). */
export function permissionFindings(
  config: ServiceConfig,
  simulation: Simulation,
  explain: (d: Decision) => Finding | undefined = () => undefined,
): Finding[] {
  const check = 'iam';
  if (simulation.kind === 'no-roles')
    return [
      notChecked(
        check,
        'the controller’s IAM was not checked: CONTROLLER_ROLES is not set',
        'set CONTROLLER_ROLES to the stack’s ControllerRoles output (a JSON object: function name → role ARN)',
      ),
    ];
  if (simulation.kind === 'failed')
    return [notChecked(check, `the controller’s IAM was not checked: ${simulation.reason}`, simulation.fix)];
  const findings: Finding[] = [];
  const denied = new Map<string, Decision[]>();
  for (const d of simulation.decisions) {
    if (d.decision === 'allowed') continue;
    const key = `${d.action}|${d.resource}|${d.decision}`;
    denied.set(key, [...(denied.get(key) ?? []), d]);
  }
  for (const list of denied.values()) {
    const d = list[0] as Decision;
    const fns = [...new Set(list.map((x) => x.fn))];
    const missing = [...new Set(list.flatMap((x) => x.missingContext ?? []))];
    const explained = explain(d);
    if (explained) {
      findings.push(explained);
      continue;
    }
    findings.push(
      error(
        check,
        `${fns.join(', ')} may not call ${d.action} on ${d.resource} (${d.decision}${missing.length > 0 ? `; policy needs context ${missing.join(', ')}` : ''})`,
        fixFor(d, config),
      ),
    );
  }
  if (simulation.unknownFunctions.length > 0)
    findings.push(
      notChecked(
        check,
        `CONTROLLER_ROLES names no role for ${simulation.unknownFunctions.join(', ')}`,
        'set CONTROLLER_ROLES to the stack’s ControllerRoles output, which names every function',
      ),
    );
  if (denied.size === 0) {
    const calls = simulation.decisions.length;
    const fns = new Set(simulation.decisions.map((d) => d.fn)).size;
    findings.push(ok(check, `${calls} calls of ${fns} functions allowed (IAM policy simulation)`));
  }
  return findings;
}
