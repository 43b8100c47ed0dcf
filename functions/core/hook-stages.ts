/** The stages of hooks and what their entries say, apart from the config's schemas (history and events name them). */

/** The points of a rollout at which hooks run, in the order a rollout meets them. */
export const HOOK_STAGES = ['beforeTraffic', 'beforeStep', 'afterBake', 'afterPromotion'] as const;
export type HookStage = (typeof HOOK_STAGES)[number];
/** What a hook's history entry says of it (core/history.ts, core/state-change.ts). */
export const HOOK_RESULTS = ['pass', 'fail', 'running', 'unavailable'] as const;
