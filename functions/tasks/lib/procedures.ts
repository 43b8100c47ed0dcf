/**
 * Sequences of port calls that more than one task performs. No decisions live here (those are in core); only
 * the order in which the world is changed, which is what the invariants are about. One module per
 * protocol (traffic, ownership and hand-over, holding a wait, resolving a decision, aborting, history,
 * notification, rollback); this one gathers them.
 */
export {
  type AbortDeps,
  type AbortEntry,
  type AbortOutcome,
  abortRollout,
  newestRunning,
  stableAfterAbort,
} from './abort';
export {
  type Decider,
  type DecisionDeps,
  type DecisionOutcome,
  resolveApproval,
  settleDecision,
} from './approval';
export { announce, type HistoryDeps, recordHistory } from './history';
export { channelsOf, notifyAll, notifyPager, PAGER } from './notify';
export {
  checkpoint,
  ensureHolderStarted,
  ownership,
  releaseAndHandOver,
  startRefused,
  startRolloutExecution,
  stillOwned,
} from './ownership';
export { type PauseActor, PauseChangedError, pauseRollout, resumeRollout } from './pause';
export {
  executionProgress,
  type RollbackDeps,
  type RollbackOutcome,
  recordRollback,
  restoreTraffic,
} from './rollback';
export { checkDrift, configuredRoute, moveTraffic, resolveRoute, shiftTraffic } from './traffic';
export { holdWait, type WaitRequest } from './wait';
