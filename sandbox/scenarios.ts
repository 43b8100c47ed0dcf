/** The sandbox's scenarios (`npm start -- --scenario <name>`): which versions roll out, and the service they roll out on. */
import type { ServiceConfigInput } from '../functions/core/config';
import {
  BAD_AFTER_SWITCH,
  BROKEN_CHECKOUT,
  CRASHES,
  demoRoute53Traffic,
  demoService,
  FEWER_ORDERS,
  HEALTHY,
  ORDER_METRICS,
  SERVER_ERRORS,
  SMOKE_TEST_ARN,
  TURNS_BAD,
} from './demo';
import type { PauseAnswer } from './pause-operator';
import type { FaultProfile } from './versions';
import { DOWNSTREAM_FAULTS } from './xray';

/** Rollout time one rollout of the scenarios may take unless they say otherwise (a few times what the plan takes). */
export const ROLLOUT_TIMEOUT_MS = 90 * 60_000;

export const SCENARIOS: Record<
  string,
  {
    description: string;
    versions: { tag: string; profile: FaultProfile }[];
    service?: Partial<ServiceConfigInput>;
    rolloutTimeoutMs?: number;
    answerPauses?: readonly PauseAnswer[];
  }
> = {
  demo: {
    description:
      'three rollouts: healthy v2 (promoted), v3 with 5% server errors (analysis rolls back), v4 turning bad mid-bake (the alarm rolls back)',
    versions: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v3', profile: SERVER_ERRORS },
      { tag: 'v4', profile: TURNS_BAD },
    ],
  },
  healthy: { description: 'one healthy rollout, promoted', versions: [{ tag: 'v2', profile: HEALTHY }] },
  errors: {
    description: 'one rollout with 5% server errors, rolled back by analysis',
    versions: [{ tag: 'v3', profile: SERVER_ERRORS }],
  },
  alarm: {
    description: 'one rollout that turns bad mid-bake, rolled back by the alarm',
    versions: [{ tag: 'v4', profile: TURNS_BAD }],
  },
  xray: {
    description:
      "judged on X-Ray's traces too: healthy v2 (promoted), v5 whose new downstream call faults while it answers 200 (the load balancer sees nothing; analysis rolls back on xray.errorRate)",
    versions: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v5', profile: DOWNSTREAM_FAULTS },
    ],
    service: {
      analysis: {
        ...demoService().analysis,
        xray: {
          canaryGroup: 'web-canary',
          stableGroup: 'web-stable',
          entitySelectorExpression: 'service("web")',
        },
      },
    },
  },
  business: {
    description:
      "judged on the app's business metric too: v7's errors and latency are as stable's, but it completes a third fewer orders per attempt (0.6 against 0.9); analysis rolls back on custom.orders",
    versions: [{ tag: 'v7', profile: FEWER_ORDERS }],
    service: { analysis: { ...demoService().analysis, metrics: [...ORDER_METRICS] } },
  },
  crash: {
    description:
      'one rollout whose process starts refusing connections mid-bake (load-balancer 502s, no target 5xx), rolled back by analysis',
    versions: [{ tag: 'v6', profile: CRASHES }],
  },
  smoke: {
    description:
      'a smoke test before any public traffic (a Lambda hook calling /checkout through the header rule): healthy v2 passes it and is promoted; v7, whose checkout fails while / is fine, fails it and rolls back before users reach it',
    versions: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v7', profile: BROKEN_CHECKOUT },
    ],
    service: { hooks: { beforeTraffic: [{ name: 'smoke', lambda: SMOKE_TEST_ARN, timeoutSeconds: 120 }] } },
  },
  route53: {
    description:
      'traffic through two weighted Route 53 records (TTL 30 s) instead of a listener: healthy v2 (promoted), v3 with 5% server errors (analysis rolls back); clients follow each weight change as their cached answers expire',
    versions: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v3', profile: SERVER_ERRORS },
    ],
    service: { traffic: demoRoute53Traffic() },
  },
  approval: {
    description:
      'one healthy rollout whose 25% step waits for a person: approve or reject it on the printed page or with `npx canary approve web --sandbox` (waits up to an hour)',
    versions: [{ tag: 'v2', profile: HEALTHY }],
    service: {
      steps: [
        { weight: 5, bakeSeconds: 60 },
        { weight: 25, bakeSeconds: 60, approval: true },
        { weight: 100, bakeSeconds: 60 },
      ],
      // Rollout time: 30 hours, an hour of real time at ×30 (the whole plan must fit in an execution's week).
      approvals: { timeoutSeconds: 30 * 3600, onTimeout: 'rollback' },
    },
    rolloutTimeoutMs: 3_600_000,
  },
  pause: {
    description:
      "one rollout with 5% server errors under analysis.onFailure 'pause': the failed analysis puts 100% back on stable at once, keeps the canary and pages; this run retries the step (it fails and pauses again), then aborts (or answer first: `npx canary retry web --sandbox`, `npx canary abort web --sandbox`)",
    versions: [{ tag: 'v3', profile: SERVER_ERRORS }],
    service: {
      steps: [
        { weight: 10, bakeSeconds: 120 },
        { weight: 100, bakeSeconds: 60 },
      ],
      analysis: { ...demoService().analysis, onFailure: 'pause', pauseTimeoutSeconds: 3600 },
    },
    answerPauses: ['retry', 'abort'],
  },
  bluegreen: {
    description:
      "blue/green: each version is tested on the header rule's test traffic only, then takes all traffic at once while the old one stays warm for a 10-minute rollback window: healthy v2 (promoted), v7 failing half its requests a few minutes after the switch (the alarm in the window puts v2, still running, back at once)",
    versions: [
      { tag: 'v2', profile: HEALTHY },
      { tag: 'v7', profile: BAD_AFTER_SWITCH },
    ],
    service: {
      steps: undefined,
      strategy: 'blueGreen',
      blueGreen: { testSeconds: 180, rollbackWindowSeconds: 600 },
    },
  },
};
