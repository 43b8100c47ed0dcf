import type { Clock } from '../functions/ports';

/**
 * Compressed time: `scale` seconds of rollout time pass per real second (60 → a minute of the plan in a second).
 * Time is never skipped: every wait really elapses, only faster.
 */
export class VirtualClock implements Clock {
  private readonly startReal = performance.now();
  private readonly startVirtual: number;

  constructor(
    readonly scale: number,
    start: Date = new Date(),
  ) {
    if (!(scale >= 1)) throw new RangeError(`time scale must be at least 1, got ${scale}`);
    this.startVirtual = start.getTime();
  }

  now(): Date {
    return new Date(this.startVirtual + (performance.now() - this.startReal) * this.scale);
  }

  workflowSeconds(seconds: number): number {
    return Math.max(1, Math.ceil(seconds / this.scale));
  }

  sleep(ms: number): Promise<void> {
    return new Promise((resolve) => setTimeout(resolve, Math.max(1, ms / this.scale)));
  }

  /** Real milliseconds for a span of rollout time. */
  realMs(virtualMs: number): number {
    return virtualMs / this.scale;
  }
}
