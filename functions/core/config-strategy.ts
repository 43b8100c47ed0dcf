/**
 * How a rollout moves traffic: `canary` (default) walks the configured steps, raising the new version's share of
 * live traffic step by step; `blueGreen` deploys the new version beside the old one, gives it test traffic only
 * (the header rule's requests) while it is tested, then switches all traffic at once and keeps the old version
 * warm for a rollback window before the promotion finishes.
 *
 * Blue/green is a plan of two steps, walked by the same workflow as a canary's:
 * 1. 0% of live traffic, the header rule on (test traffic only), baked `testSeconds` and judged on the test
 *    traffic (an approval before the switch when `approval` is set);
 * 2. 100%, baked `rollbackWindowSeconds` in full (no early pass): the stable target group still runs the old
 *    version, so an alarm or a failed analysis puts 100% back on it at once.
 * Then the promotion, as for a canary: the stable service rolls onto the new image, traffic goes back to it, and
 * the new version's own service scales down.
 */
import { BLUE_GREEN_PRESETS, type BlueGreenPresetName, STEPS_REQUIRED } from './steps';
import * as z from './zod';

export {
  BLUE_GREEN_PRESETS,
  type BlueGreenPresetName,
  type BlueGreenSpec,
  blueGreenSteps,
  DEFAULT_BLUE_GREEN,
  STEPS_REQUIRED,
} from './steps';

export const STRATEGIES = ['canary', 'blueGreen'] as const;
export type Strategy = (typeof STRATEGIES)[number];

export const strategySchema = z._default(z.enum(STRATEGIES), 'canary');

export const BLUE_GREEN_PRESET_NAMES = Object.keys(BLUE_GREEN_PRESETS) as BlueGreenPresetName[];

const blueGreenObject = z
  .strictObject({
    testSeconds: z.int().check(z.gte(0), z.lte(86400)),
    approval: z.optional(z.boolean()),
    rollbackWindowSeconds: z.int().check(z.gte(0), z.lte(86400)),
  })
  .check(
    z.refine((b) => !(b.approval && b.testSeconds === 0), {
      message: 'an approval needs testSeconds > 0',
      path: ['testSeconds'],
    }),
  );

export const blueGreenSchema = z.union([
  z.enum(BLUE_GREEN_PRESET_NAMES as [BlueGreenPresetName, ...BlueGreenPresetName[]], {
    error: `must be a preset (${BLUE_GREEN_PRESET_NAMES.join(', ')}) or durations`,
  }),
  blueGreenObject,
]);

/** The strategy's fields of a service config, as config validation sees them. */
export interface StrategyFields {
  strategy: Strategy;
  steps?: unknown;
  blueGreen?: z.output<typeof blueGreenSchema>;
  traffic: object;
}

/** What a config's strategy fields get wrong together, each naming its field; empty when they agree. */
export function strategyIssues(c: StrategyFields): { path: string[]; message: string }[] {
  const blueGreen = c.strategy === 'blueGreen';
  const issues = [];
  if (!blueGreen && c.steps === undefined) issues.push({ path: ['steps'], message: STEPS_REQUIRED });
  if (!blueGreen && c.blueGreen !== undefined)
    issues.push({ path: ['blueGreen'], message: 'only with strategy "blueGreen"' });
  if (blueGreen && c.steps !== undefined)
    issues.push({ path: ['steps'], message: 'not with strategy "blueGreen"' });
  // The test phase reaches the new version only through the header rule (live traffic stays on stable): a
  // listener's rule, which weighted records (traffic.kind route53) have no counterpart of.
  const traffic = c.traffic as { kind?: unknown; headerRule?: unknown };
  if (blueGreen && traffic.kind !== undefined && traffic.kind !== 'alb')
    issues.push({
      path: ['traffic', 'kind'],
      message:
        'strategy "blueGreen" needs traffic.kind "alb" with a headerRule ' +
        '(its test traffic reaches the new version through the header rule; weighted records have none)',
    });
  else if (blueGreen && !traffic.headerRule)
    issues.push({
      path: ['traffic', 'headerRule'],
      message: 'required by strategy "blueGreen": its test traffic',
    });
  return issues;
}
