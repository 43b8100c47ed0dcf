/**
 * Capacity before traffic: how many tasks the canary needs for a share of the traffic, and how the workflow spaces
 * its polls while new tasks start, so that a step's wait stays bounded in time and in execution history.
 */

/**
 * Tasks the canary needs to take `canaryPercent` of the traffic the stable service's `stableTasks` serve: the
 * same share, rounded up, and at least one (a canary with no task cannot be judged).
 */
export function canaryTaskCount(stableTasks: number, canaryPercent: number): number {
  return Math.max(1, Math.ceil((stableTasks * canaryPercent) / 100));
}

export interface ReadinessBound {
  timeoutSeconds: number;
  pollSeconds: number;
}

/**
 * The wait before the next capacity poll, `waitedSeconds` after the scale: `pollSeconds` at first, then half the
 * time waited so far (new tasks that are not up after a minute are rarely up a few seconds later), and never past
 * the timeout, so the last poll falls on it. Every step of a rollout may wait, so the polls grow geometrically
 * instead of staying `pollSeconds` apart: at most `maxCapacityPolls(bound)` per step (22 for the widest config,
 * 3600 s at 1 s), about 9 history events each (Wait, Task, Choice), where fixed polls could reach thousands.
 * Zero once the timeout is reached: nothing is left to wait for.
 */
export function capacityPollWait(bound: ReadinessBound, waitedSeconds: number): number {
  const left = bound.timeoutSeconds - waitedSeconds;
  if (left <= 0) return 0;
  return Math.min(Math.max(bound.pollSeconds, Math.ceil(waitedSeconds / 2)), left);
}

/** The most capacity polls one step can make before it gives up (the history budget of a step's wait). */
export function maxCapacityPolls(bound: ReadinessBound): number {
  let waited = 0;
  let polls = 0;
  for (let wait = capacityPollWait(bound, waited); wait > 0; wait = capacityPollWait(bound, waited)) {
    waited += wait;
    polls++;
  }
  return polls;
}
