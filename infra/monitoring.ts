/**
 * The controller's own alarms (on its topic) and a dashboard per service: small factories, one per alarm kind and
 * widget row.
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
import type { ControllerFunction } from './controller-function';
import { listenerParts, pascal, targetGroupDimension } from './names';

export interface MonitoringProps {
  readonly services: ServiceConfig[];
  readonly functions: Record<string, ControllerFunction>;
  readonly stateMachine: sfn.StateMachine;
  readonly deadLetterQueues: Record<string, sqs.Queue>;
  /** Where the alarms go. */
  readonly topic: sns.Topic;
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
    for (const config of props.services) {
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

/** Canary vs stable on the load balancer's metrics, per target group. */
function serviceWidgets(config: ServiceConfig): cloudwatch.IWidget[][] {
  const { loadBalancer } = listenerParts(config.traffic.listenerArn);
  const groups = [
    { label: 'canary', arn: config.traffic.canaryTargetGroupArn },
    { label: 'stable', arn: config.traffic.stableTargetGroupArn },
  ];
  const metric = (name: string, tg: string, statistic: string, label: string) =>
    new cloudwatch.Metric({
      namespace: 'AWS/ApplicationELB',
      metricName: name,
      dimensionsMap: { LoadBalancer: loadBalancer, TargetGroup: targetGroupDimension(tg) },
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
