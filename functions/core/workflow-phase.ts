/**
 * How far a rollout got, read from the state its execution entered last (statemachine/canary.asl.json): what
 * reconcile and on-alarm go by when the store cannot say. The unit test derives these sets from the definition.
 * - `promoted`: PromoteFinish returned, so the record says promoted and the service was released: nothing to undo
 *   and nobody to page.
 * - `finishing`: PromoteFinish may have run: only the store can tell whether traffic is still this rollout's.
 * - `promoting`: a promotion began: the stable service may run the new image.
 * Any other state: before the promotion, or on the rollback path (whose input carries the phase it came with).
 */
export type WorkflowPhase = 'promoting' | 'finishing' | 'promoted';

export const PROMOTING_STATES = [
  'PromoteBegin',
  'CheckStableReady',
  'IsStableReady',
  'WaitForStable',
  'PromoteShiftBack',
  'WaitForDrain',
  'PromotionInterrupted',
] as const;
export const FINISHING_STATES = ['PromoteFinish', 'FinishInterrupted'] as const;
export const PROMOTED_STATES = ['NotifyPromoted', 'Promoted'] as const;

export function phaseAt(state: string): WorkflowPhase | undefined {
  if ((PROMOTED_STATES as readonly string[]).includes(state)) return 'promoted';
  if ((FINISHING_STATES as readonly string[]).includes(state)) return 'finishing';
  if ((PROMOTING_STATES as readonly string[]).includes(state)) return 'promoting';
  return undefined;
}
