import { TargetNotFoundError } from '../functions/core/errors';
import type { AlarmState } from '../functions/core/judge';
import type { AlarmSource } from '../functions/ports';
import { alarmStateChangeEvent } from './aws-events';
import type { VirtualClock } from './clock';
import type { MetricsRecorder } from './metrics';

export interface LocalAlarmSpec {
  name: string;
  /** The alarm watches this target group's 5xx rate (HTTPCode_Target_5XX_Count / RequestCount). */
  targetGroupArn: string;
  threshold: number;
  /** Rollout seconds per evaluation period, and how many periods must breach. */
  periodSeconds: number;
  evaluationPeriods: number;
  /** Below this many requests in a period the period does not breach (treat missing data as not breaching). */
  minRequests: number;
}

/**
 * CloudWatch alarms in miniature: evaluated on the recorded ALB metrics, and on a state change they send the
 * same "CloudWatch Alarm State Change" event EventBridge would.
 */
export class LocalAlarms implements AlarmSource {
  private readonly current = new Map<string, AlarmState['state']>();
  private timer: NodeJS.Timeout | undefined;
  /** Real time (performance.now) of each transition to ALARM, by alarm name. */
  readonly firedAt: { name: string; at: number }[] = [];

  constructor(
    private readonly specs: LocalAlarmSpec[],
    private readonly recorder: MetricsRecorder,
    private readonly clock: VirtualClock,
    private readonly onChange: (event: unknown) => Promise<unknown>,
    private readonly onError: (error: unknown) => void,
  ) {
    for (const s of specs) this.current.set(s.name, 'OK');
  }

  async states(names: readonly string[]): Promise<AlarmState[]> {
    return names.map((name) => {
      const state = this.current.get(name);
      if (!state) throw new TargetNotFoundError(`alarm ${name} does not exist`);
      return { name, state };
    });
  }

  start(everyRealMs = 50): void {
    this.timer = setInterval(() => this.evaluate(), everyRealMs);
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private evaluate(): void {
    const now = this.clock.now().getTime();
    for (const spec of this.specs) {
      let breaching = 0;
      for (let i = 0; i < spec.evaluationPeriods; i++) {
        const to = now - i * spec.periodSeconds * 1000;
        const { requests, errors } = this.recorder.totals(
          spec.targetGroupArn,
          to - spec.periodSeconds * 1000,
          to,
        );
        if (requests >= spec.minRequests && errors / requests > spec.threshold) breaching++;
      }
      const next = breaching === spec.evaluationPeriods ? 'ALARM' : 'OK';
      const previous = this.current.get(spec.name);
      if (next === previous) continue;
      this.current.set(spec.name, next);
      if (next === 'ALARM') this.firedAt.push({ name: spec.name, at: performance.now() });
      const event = alarmStateChangeEvent({
        id: crypto.randomUUID(),
        time: new Date(now).toISOString(),
        alarmName: spec.name,
        value: next,
        reason: `Threshold Crossed: ${spec.evaluationPeriods} datapoint(s) ${next === 'ALARM' ? 'greater than' : 'not greater than'} the threshold (${spec.threshold})`,
        previous: previous ?? 'INSUFFICIENT_DATA',
      });
      this.onChange(event).catch(this.onError);
    }
  }
}
