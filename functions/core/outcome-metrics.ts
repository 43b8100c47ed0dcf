/**
 * The controller's own CloudWatch metrics: one count per rollout outcome, published by the notify task (namespace
 * and the `service` dimension are Powertools' defaults for the controller's functions). The controller alarms on
 * RollbacksFailed, not on failed executions: an ordinary rollback also ends its execution in a Fail state.
 */
export const METRICS_NAMESPACE = 'CanaryController';
export const METRICS_SERVICE = 'canary-controller';

/**
 * `pageUndelivered`: one attempt to page a rollback failed (counted per attempt; the workflow retries it).
 * `eventUndelivered`: a rollout state-change event EventBridge did not take (counted by the functions that announce).
 */
export type RolloutOutcome =
  | 'promoted'
  | 'rolledBack'
  | 'rollbackFailed'
  | 'pageUndelivered'
  | 'eventUndelivered';

export const OUTCOME_METRICS: Readonly<Record<RolloutOutcome, string>> = {
  promoted: 'RolloutsPromoted',
  rolledBack: 'RolloutsRolledBack',
  rollbackFailed: 'RollbacksFailed',
  pageUndelivered: 'PagesUndelivered',
  eventUndelivered: 'StateChangeEventsUndelivered',
};
