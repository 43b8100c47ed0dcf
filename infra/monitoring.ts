/**
 * The controller's own alarms (on its topic) and one dashboard for the controller, with a service picker (a dashboard
 * variable) for the per-service view; a dashboard of its own only for the services named in `serviceDashboards`.
 * Small factories, one per alarm kind and widget row. A dashboard costs by the month whatever the traffic (`npm run
 * bench -- cost`), so their number does not grow with the services.
 */
import { Duration, Stack } from 'aws-cdk-lib';
import * as cloudwatch from 'aws-cdk-lib/aws-cloudwatch';
import { SnsAction } from 'aws-cdk-lib/aws-cloudwatch-actions';
import type * as sns from 'aws-cdk-lib/aws-sns';
import type * as sqs from 'aws-cdk-lib/aws-sqs';
import type * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import type { ServiceConfig } from '../functions/core/config';
import { METRICS_NAMESPACE, METRICS_SERVICE, OUTCOME_METRICS } from '../functions/core/outcome-metrics';
import { configuredTargetGroups } from '../functions/core/routes';
import type { ControllerFunction } from './controller-function';
import { listenerParts, pascal, targetGroupDimension } from './names';

export interface MonitoringProps {
  readonly services: ServiceConfig[];
  readonly functions: Record<string, ControllerFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueues: Record<string, sqs.Queue>;
  /** Where the alarms go. */
  readonly topic: sns.Topic;
  /** Services that also get a dashboard of their own (CanaryControllerProps.serviceDashboards). */
  readonly serviceDashboards?: readonly string[];
}

/** The outcome metrics the tasks put (functions/core/outcome-metrics.ts) that each mean someone must act. */
const OUTCOME_ALARMS: { id: string; metric: keyof typeof OUTCOME_METRICS; description: string }[] = [
  // Not on failed executions: every ordinary rollback ends in the RolledBack Fail state (and pages on its own).
  {
    id: 'RollbacksFailed',
    metric: 'rollbackFailed',
    description: 'a rollback did not complete: traffic of that service needs attention',
  },
  // The notify task counts each attempt whose page PagerDuty did not take; the workflow retries it for an hour or
  // more and then records the rollback without it, so this alarm (on the controller's own topic) is what is left.
  {
    id: 'PagesUndelivered',
    metric: 'pageUndelivered',
    description:
      'the page of a rollback could not be delivered to PagerDuty: the workflow retries it; on-call has not heard',
  },
  // A state-change event EventBridge did not take: rules that route rollouts to chat or tickets missed it.
  {
    id: 'StateChangeEventsUndelivered',
    metric: 'eventUndelivered',
    description:
      'rollout state-change events could not be put on the controller bus (rules routing them missed some)',
  },
];

/** Alarms and dashboards, in `scope` (the controller) with the ids a deployed stack has. */
export class Monitoring {
  readonly alarms: cloudwatch.Alarm[] = [];
  readonly dashboards: Record<string, cloudwatch.Dashboard> = {};
  private readonly alarmAction: SnsAction;

  constructor(
    private readonly scope: Construct,
    props: MonitoringProps,
  ) {
    this.alarmAction = new SnsAction(props.topic);
    this.controllerAlarms(props);
    const controllerWidgets = controllerRow(props.functions, props.stateMachine);
    const stackName = Stack.of(scope).stackName;
    const unknown = (props.serviceDashboards ?? []).filter(
      (s) => !props.services.some((c) => c.service === s),
    );
    if (unknown.length > 0)
      throw new Error(`serviceDashboards names services that are not configured: ${unknown.join(', ')}`);
    this.dashboards.controller = new cloudwatch.Dashboard(scope, 'Dashboard', {
      dashboardName: `${stackName}-canary`.slice(0, 255),
      ...(props.services.length > 0 ? { variables: [serviceVariable(props.services)] } : {}),
      widgets: [...(props.services.length > 0 ? pickedServiceWidgets() : []), controllerWidgets],
    });
    for (const config of props.services) {
      if (!props.serviceDashboards?.includes(config.service)) continue;
      this.dashboards[config.service] = new cloudwatch.Dashboard(
        scope,
        `Dashboard${pascal(config.service)}`,
        {
          dashboardName: `${Stack.of(scope).stackName}-${config.service}`.slice(0, 255),
          widgets: [...serviceWidgets(config), controllerWidgets],
        },
      );
    }
  }

  /** Function errors, outcomes that need a person, timed-out executions and non-empty dead-letter queues. */
  private controllerAlarms({ functions, stateMachine, deadLetterQueues }: MonitoringProps) {
    for (const [handler, fn] of Object.entries(functions)) {
      this.alarm(
        `${pascal(handler)}Errors`,
        fn.function.metricErrors({ period: Duration.minutes(5) }),
        `canary controller function ${handler} failed`,
      );
    }
    for (const { id, metric, description } of OUTCOME_ALARMS) {
      this.alarm(id, outcomeMetric(metric), description);
    }
    this.alarm(
      'ExecutionsTimedOut',
      stateMachine.metricTimedOut({ period: Duration.minutes(5) }),
      'rollout executions timed out',
    );
    for (const [name, queue] of Object.entries(deadLetterQueues)) {
      this.alarm(
        `${name}DlqNotEmpty`,
        queue.metricApproximateNumberOfMessagesVisible({ period: Duration.minutes(5), statistic: 'Maximum' }),
        `events for ${name} could not be delivered or failed after retries (dead-letter queue not empty)`,
      );
    }
  }

  /** At least one in a period (missing data is no trouble), on the controller's topic. */
  private alarm(id: string, metric: cloudwatch.IMetric, description: string) {
    const a = new cloudwatch.Alarm(this.scope, id, {
      metric,
      threshold: 1,
      evaluationPeriods: 1,
      comparisonOperator: cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
      treatMissingData: cloudwatch.TreatMissingData.NOT_BREACHING,
      alarmDescription: description,
    });
    a.addAlarmAction(this.alarmAction);
    this.alarms.push(a);
  }
}

/** A count the tasks put in the controller's namespace, summed over five minutes. */
function outcomeMetric(name: keyof typeof OUTCOME_METRICS): cloudwatch.Metric {
  return new cloudwatch.Metric({
    namespace: METRICS_NAMESPACE,
    metricName: OUTCOME_METRICS[name],
    dimensionsMap: { service: METRICS_SERVICE },
    statistic: 'Sum',
    period: Duration.minutes(5),
  });
}

/** The controller's own row, on every service's dashboard: function errors and rollout executions. */
function controllerRow(
  functions: Record<string, ControllerFunction>,
  stateMachine: sfn.StateMachine,
): cloudwatch.IWidget[] {
  return [
    new cloudwatch.GraphWidget({
      title: 'Controller function errors',
      left: Object.entries(functions).map(([handler, fn]) =>
        fn.function.metricErrors({ label: handler, period: Duration.minutes(1) }),
      ),
      width: 12,
    }),
    new cloudwatch.GraphWidget({
      title: 'Rollout executions',
      left: [
        stateMachine.metricSucceeded({ label: 'succeeded', period: Duration.minutes(5) }),
        stateMachine.metricFailed({ label: 'failed (incl. rollbacks)', period: Duration.minutes(5) }),
        stateMachine.metricTimedOut({ label: 'timed out', period: Duration.minutes(5) }),
      ],
      width: 12,
    }),
  ];
}

/** What the service picker replaces in the dashboard's JSON (a pattern variable): the selected target groups. */
const SERVICE_PATTERN = 'canaryServiceTargetGroups';

/**
 * The service picker: each service's value is a metric search term naming its two target groups by their IDs (the
 * last part of the TargetGroup dimension, unique per target group; unquoted, so no JSON escaping is involved).
 * CloudWatch User Guide, "Create flexible dashboards with dashboard variables" (pattern variables) and "CloudWatch
 * search expression syntax" (property designators, OR).
 */
function serviceVariable(services: readonly ServiceConfig[]): cloudwatch.DashboardVariable {
  const id = (arn: string) => arn.slice(arn.lastIndexOf('/') + 1);
  return new cloudwatch.DashboardVariable({
    id: 'service',
    label: 'Service',
    type: cloudwatch.VariableType.PATTERN,
    inputType: cloudwatch.VariableInputType.SELECT,
    value: SERVICE_PATTERN,
    values: cloudwatch.Values.fromValues(
      ...services.map((c) => ({
        label: c.service,
        value: `(TargetGroup=${id(configuredTargetGroups(c.traffic).stable)} OR TargetGroup=${id(configuredTargetGroups(c.traffic).canary)})`,
      })),
    ),
    defaultValue: cloudwatch.DefaultValue.FIRST,
  });
}

/** The selected service's canary and stable target groups, by metric search (one line per target group). */
function pickedServiceWidgets(): cloudwatch.IWidget[][] {
  const search = (metricName: string, statistic: string, label: string) =>
    new cloudwatch.MathExpression({
      expression: `SEARCH('{AWS/ApplicationELB,LoadBalancer,TargetGroup} MetricName="${metricName}" ${SERVICE_PATTERN}', '${statistic}', 60)`,
      label,
      period: Duration.minutes(1),
    });
  return [
    [
      new cloudwatch.TextWidget({
        markdown: '# Service\nPick the service above: its canary and stable target groups, side by side.',
        width: 24,
        height: 2,
      }),
    ],
    [
      new cloudwatch.GraphWidget({ title: 'Requests', left: [search('RequestCount', 'Sum', '')], width: 8 }),
      new cloudwatch.GraphWidget({
        title: 'Target 5xx',
        left: [search('HTTPCode_Target_5XX_Count', 'Sum', '')],
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target response time p99 (s)',
        left: [search('TargetResponseTime', 'p99', '')],
        width: 8,
      }),
    ],
  ];
}

/** Canary vs stable on the load balancer's metrics, per target group. */
function serviceWidgets(config: ServiceConfig): cloudwatch.IWidget[][] {
  // Each version's own load balancer behind weighted records, the listener's otherwise.
  const t = config.traffic;
  const lbOf = (arn: string) => listenerParts(arn).loadBalancer;
  const loadBalancers =
    t.kind === 'route53'
      ? { canary: lbOf(t.canary.loadBalancerArn), stable: lbOf(t.stable.loadBalancerArn) }
      : { canary: lbOf(t.listenerArn), stable: lbOf(t.listenerArn) };
  const loadBalancer =
    t.kind === 'route53' ? `${loadBalancers.stable} and ${loadBalancers.canary}` : loadBalancers.stable;
  const targetGroups = configuredTargetGroups(t);
  const groups = [
    { label: 'canary', arn: targetGroups.canary },
    { label: 'stable', arn: targetGroups.stable },
  ];
  const lbByGroup = new Map([
    [targetGroups.canary, loadBalancers.canary],
    [targetGroups.stable, loadBalancers.stable],
  ]);
  const metric = (name: string, tg: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName: name,
      dimensionsMap: {
        LoadBalancer: lbByGroup.get(tg) ?? loadBalancers.stable,
        TargetGroup: targetGroupDimension(tg),
      },
      statistic,
      period: Duration.minutes(1),
      label,
    });
  const errorRate = (tg: string, label: string) =>
    new cloudwatch.MathExpression({
      // Metric ids are per graph, so each target group's pair is named after it.
      expression: `IF(requests_${label} > 0, 100 * errors_${label} / requests_${label}, 0)`,
      usingMetrics: {
        [`requests_${label}`]: metric('RequestCount', tg, 'Sum', `${label} requests`),
        [`errors_${label}`]: metric('HTTPCode_Target_5XX_Count', tg, 'Sum', `${label} 5xx`),
      },
      label: `${label} 5xx %`,
      period: Duration.minutes(1),
    });
  return [
    [
      new cloudwatch.TextWidget({
        markdown: `# ${config.service}\nRepository \`${config.repository}\`, listener \`${loadBalancer}\``,
        width: 24,
        height: 2,
      }),
    ],
    [
      new cloudwatch.GraphWidget({
        title: 'Requests',
        left: groups.map((g) => metric('RequestCount', g.arn, 'Sum', g.label)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target 5xx',
        left: groups.map((g) => metric('HTTPCode_Target_5XX_Count', g.arn, 'Sum', g.label)),
        right: groups.map((g) => errorRate(g.arn, g.label)),
        width: 8,
      }),
      new cloudwatch.GraphWidget({
        title: 'Target response time p99 (s)',
        left: groups.map((g) => metric('TargetResponseTime', g.arn, 'p99', g.label)),
        width: 8,
      }),
    ],
  ];
}
