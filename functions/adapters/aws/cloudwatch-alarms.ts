/**
 * CloudWatch alarms: the states of the gating alarms (AlarmSource), and DescribeAlarms for every caller that reads
 * alarms (this adapter, `canary check`).
 */
import {
  type CloudWatchClient,
  type CompositeAlarm,
  DescribeAlarmsCommand,
  type DescribeAlarmsCommandInput,
  type DescribeAlarmsCommandOutput,
  type MetricAlarm,
} from '@aws-sdk/client-cloudwatch';
import { TargetNotFoundError } from '../../core/errors';
import type { AlarmState } from '../../core/judge';
import type { AlarmSource } from '../../ports';
import { type AdapterOptions, AwsCaller } from './sdk';

/** Alarm names per DescribeAlarms request at most (AlarmNames: 100 members, CloudWatch API Reference). */
const ALARMS_PER_CALL = 100;

/** The metric and composite alarms DescribeAlarms describes. */
export interface DescribedAlarms {
  metric: MetricAlarm[];
  composite: CompositeAlarm[];
}

/**
 * The named alarms, metric and composite (DescribeAlarms returns only metric alarms unless AlarmTypes asks for
 * both): a request per 100 names, each followed through its pages. `send` makes one request, with the caller's
 * retries; a name CloudWatch does not have is left out.
 */
export async function describeAlarms(
  names: readonly string[],
  send: (input: DescribeAlarmsCommandInput) => Promise<DescribeAlarmsCommandOutput>,
): Promise<DescribedAlarms> {
  const metric: MetricAlarm[] = [];
  const composite: CompositeAlarm[] = [];
  for (let i = 0; i < names.length; i += ALARMS_PER_CALL) {
    const chunk = names.slice(i, i + ALARMS_PER_CALL);
    let token: string | undefined;
    do {
      const out = await send({
        AlarmNames: chunk,
        AlarmTypes: ['MetricAlarm', 'CompositeAlarm'],
        ...(token ? { NextToken: token } : {}),
      });
      metric.push(...(out.MetricAlarms ?? []));
      composite.push(...(out.CompositeAlarms ?? []));
      token = out.NextToken;
    } while (token);
  }
  return { metric, composite };
}

export class CloudWatchAlarmSource implements AlarmSource {
  private readonly aws: AwsCaller;

  constructor(
    private readonly cloudwatch: CloudWatchClient,
    options: AdapterOptions = {},
  ) {
    this.aws = new AwsCaller(options.retry);
  }

  /**
   * States in the order asked. A configured alarm that does not exist throws: a silently missing gate is unsafe.
   * Gating alarms may be composite: DescribeAlarms returns only metric alarms unless AlarmTypes asks for both, and
   * composite ones only to a caller whose cloudwatch:DescribeAlarms is on "*" (CloudWatch API Reference,
   * DescribeAlarms), as the controller's is (infra/canary-controller.ts).
   */
  async states(alarmNames: readonly string[]): Promise<AlarmState[]> {
    const names = [...new Set(alarmNames)];
    const { metric, composite } = await describeAlarms(names, (input) =>
      this.aws.call('cloudwatch:DescribeAlarms', input.AlarmNames?.join(', ') ?? '', () =>
        this.cloudwatch.send(new DescribeAlarmsCommand(input)),
      ),
    );
    const found = new Map<string, AlarmState['state']>();
    for (const alarm of [...metric, ...composite]) {
      if (alarm.AlarmName && alarm.StateValue) found.set(alarm.AlarmName, alarm.StateValue);
    }
    const missing = names.filter((n) => !found.has(n));
    if (missing.length > 0)
      throw new TargetNotFoundError(`CloudWatch alarm not found: ${missing.join(', ')}`);
    return names.map((name) => ({ name, state: found.get(name) ?? 'INSUFFICIENT_DATA' }));
  }
}
