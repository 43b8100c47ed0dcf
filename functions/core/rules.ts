import type { AnalysisPolicy } from './config';
import type { Verdict } from './judge';
import type { PlanStep } from './plan';

export type NextAction = 'advance' | 'awaitApproval' | 'bakeAgain' | 'rollback';

export interface Decision {
  action: NextAction;
  reason: string;
}

/**
 * What the workflow does after an analysis. `extensionsUsed` counts the inconclusive re-bakes of this step so
 * far; the policy bounds them and says what happens when they run out.
 */
export function decide(
  verdict: Verdict,
  step: PlanStep,
  extensionsUsed: number,
  policy: AnalysisPolicy,
): Decision {
  if (verdict.result === 'fail') return { action: 'rollback', reason: verdict.reason };
  if (verdict.result === 'inconclusive') {
    if (extensionsUsed < policy.maxExtensions) {
      return {
        action: 'bakeAgain',
        reason: `${verdict.reason}; extending the bake (${extensionsUsed + 1} of ${policy.maxExtensions})`,
      };
    }
    if (policy.onInconclusive === 'rollback') {
      return {
        action: 'rollback',
        reason: `still inconclusive after ${extensionsUsed} extension(s): ${verdict.reason}`,
      };
    }
  }
  const why =
    verdict.result === 'pass'
      ? verdict.reason
      : `advancing on inconclusive evidence by policy: ${verdict.reason}`;
  if (step.approval) return { action: 'awaitApproval', reason: why };
  return { action: 'advance', reason: why };
}

/** Which rollback reasons keep the image out (quarantine) until someone releases it. */
export function quarantines(errorName: string): boolean {
  return ['CanaryFailed', 'AlarmFired', 'ApprovalRejected', 'ApprovalTimedOut', 'CanaryNotReady'].includes(
    errorName,
  );
}
