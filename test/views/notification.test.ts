import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { MetricEvidence, Verdict } from '../../functions/core/judge';
import { type NotificationEvent, pages, pauseDedupKey } from '../../functions/core/notification';
import { evidenceText } from '../../functions/views/evidence-text';
import {
  eventSentence,
  pagerDutyTrigger,
  STEP_PASSED_WORDING,
  type StepPassedNotification,
  snsMessage,
} from '../../functions/views/notification';
import {
  pagerDutyTriggerIn,
  snsMessageIn,
  VERDICT_FREE_WORDING,
  type VerdictFreeEvent,
} from '../../functions/views/notification-message';
import { ROLLOUT_ID, SERVICE } from '../helpers/config';

const ROUTING_KEY = 'R0UT1NGK3Y0000000000000000000000';

const EVIDENCE: MetricEvidence[] = [
  {
    metric: 'errorRate',
    result: 'fail',
    canary: 0.0412,
    baseline: 0.0031,
    limit: 0.0081,
    reason: 'noBaseline',
    facts: {
      canarySide: { rate: 0.0412, errors: 41, requests: 995 },
      baselineSide: { rate: 0.0031, errors: 62, requests: 19870 },
    },
  },
  {
    metric: 'latencyP99',
    result: 'pass',
    canary: 182,
    baseline: 176,
    limit: 220,
    reason: 'p99Compared',
    facts: {},
  },
  {
    metric: 'alarms',
    result: 'pass',
    canary: 0,
    baseline: null,
    limit: 0,
    reason: 'alarmsOk',
    facts: { firing: [], alarmCount: 2 },
  },
];

const VERDICT: Verdict = {
  result: 'fail',
  reason: 'checkFailed',
  minRequests: 200,
  canary: { requests: 995, errors: 41, errorRate: 0.0412, p99Ms: 182 },
  baseline: { requests: 19870, errors: 62, errorRate: 0.0031, p99Ms: 176 },
  metrics: EVIDENCE,
};

function rolledBack(overrides: Partial<NotificationEvent> = {}): NotificationEvent {
  return {
    type: 'rollout.rolledBack',
    severity: 'error',
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: 'acme/web:v1.4.2',
    summary: 'web: acme/web:v1.4.2 rolled back at 25%',
    reason: 'errorRate: canary 4.12% (41/995) vs stable 0.31% (62/19870), limit 0.81%',
    step: { index: 1, weight: 25 },
    verdict: VERDICT,
    links: { report: 'https://canary.example.com/rollouts/web-faec26f150531ab9' },
    at: '2025-03-14T09:44:30.512Z',
    ...overrides,
  };
}

function started(): NotificationEvent {
  return {
    type: 'rollout.refused',
    severity: 'info',
    rolloutId: ROLLOUT_ID,
    service: SERVICE,
    image: 'acme/web:v1.4.2',
    summary: 'web: refused acme/web:v1.4.2',
    at: '2025-03-14T09:26:55.001Z',
  };
}

describe('snsMessage', () => {
  it('puts the severity and summary in the subject', () => {
    // Act
    const message = snsMessage(rolledBack());

    // Assess
    expect(message.subject).toBe('[ERROR] web: acme/web:v1.4.2 rolled back at 25%');
  });

  it('sets the attributes subscribers filter on', () => {
    // Act
    const message = snsMessage(rolledBack());

    // Assess
    expect(message.attributes).toEqual({ service: 'web', event: 'rollout.rolledBack', severity: 'error' });
  });

  it('keeps the subject under 100 printable ASCII characters on one line (SNS Publish: less than 100)', () => {
    // Prepare
    const summary = `web: acme/web:v1.4.2 → rolled back ✗ 🚨\nafter ${'a very long explanation '.repeat(10)}`;

    // Act
    const { subject } = snsMessage(rolledBack({ summary, severity: 'critical' }));

    // Assess
    expect(subject.length).toBe(99);
    expect(subject).toMatch(/^[\x20-\x7e]+$/);
    expect(subject.startsWith('[CRITICAL] web: acme/web:v1.4.2 rolled back after a very long')).toBe(true);
    expect(subject.endsWith('...')).toBe(true);
  });

  it('keeps any summary a valid SNS subject', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 300, unit: 'grapheme' }), (summary) => {
        const { subject } = snsMessage(rolledBack({ summary }));
        expect(subject.length).toBeLessThan(100);
        expect(subject).toMatch(/^\[[\x20-\x7e]*$/);
      }),
    );
  });

  it('leads with one sentence: what failed, what the controller did, what to do', () => {
    // Act
    const { message } = snsMessage(rolledBack());

    // Assess
    expect(message.split('\n')[0]).toBe(
      "The canary's error rate is above its 0.81% limit (no stable traffic to compare): 41 errors in 995 requests; " +
        'acme/web:v1.4.2 was rolled back, stable serves all traffic; look at the canary before pushing it again',
    );
  });

  it('writes the rollout, step, reason, evidence, links and time in the body', () => {
    // Act
    const { message } = snsMessage(rolledBack());

    // Assess
    const lines = message.split('\n');
    expect(lines[2]).toBe('web: acme/web:v1.4.2 rolled back at 25%');
    expect(lines).toContain('Service: web');
    expect(lines).toContain('Image: acme/web:v1.4.2');
    expect(lines).toContain(`Rollout: ${ROLLOUT_ID}`);
    expect(lines).toContain('Step: 2 at 25%');
    expect(lines).toContain(
      'Reason: errorRate: canary 4.12% (41/995) vs stable 0.31% (62/19870), limit 0.81%',
    );
    expect(lines).toContain('Evidence (fail):');
    expect(lines).toContain(
      '  - errorRate: fail (canary 4.12% (41/995) vs stable 0.31% (62/19870), no baseline traffic: absolute limit 0.81%)',
    );
    expect(lines).toContain('  - latencyP99: pass (canary p99 182 ms vs stable 176 ms, limit 220 ms)');
    expect(lines).toContain('report: https://canary.example.com/rollouts/web-faec26f150531ab9');
    expect(lines.at(-1)).toBe('At: 2025-03-14T09:44:30.512Z');
  });

  it('leaves out the parts an event does not have', () => {
    // Act
    const { message, subject } = snsMessage(started());

    // Assess
    expect(subject).toBe('[INFO] web: refused acme/web:v1.4.2');
    expect(message).not.toMatch(/Step:|Reason:|Evidence/);
    expect(message).not.toContain('undefined');
  });
});

describe('pagerDutyTrigger', () => {
  it('is an Events v2 trigger deduplicated by rollout id', () => {
    // Act
    const body = pagerDutyTrigger(rolledBack(), ROUTING_KEY);

    // Assess
    expect(body.routing_key).toBe(ROUTING_KEY);
    expect(body.event_action).toBe('trigger');
    expect(body.dedup_key).toBe(ROLLOUT_ID);
  });

  it("gives each pause its own incident, apart from the rollout's rollback page", () => {
    // Arrange: two pauses of one rollout (the second after a retry), then its rollback
    const first = pauseDedupKey(ROLLOUT_ID, 1, '2025-03-14T09:44:30.512Z');
    const second = pauseDedupKey(ROLLOUT_ID, 1, '2025-03-14T10:02:11.000Z');
    const paused = (dedupKey: string) =>
      rolledBack({ type: 'rollout.paused', summary: 'web: paused', dedupKey });

    // Act
    const keys = [
      pagerDutyTrigger(paused(first), ROUTING_KEY).dedup_key,
      pagerDutyTrigger(paused(second), ROUTING_KEY).dedup_key,
      pagerDutyTrigger(rolledBack(), ROUTING_KEY).dedup_key,
    ];

    // Assess: three incidents; acknowledging a pause folds neither the next pause nor the rollback into it
    expect(new Set(keys).size).toBe(3);
    expect(keys[0]).toBe(`${ROLLOUT_ID}:pause:2:2025-03-14T09:44:30.512Z`);
    expect(keys[2]).toBe(ROLLOUT_ID);
    expect(keys.every((k) => k.length <= 255)).toBe(true);
  });

  it('fills the payload PagerDuty requires', () => {
    // Act
    const { payload } = pagerDutyTrigger(rolledBack(), ROUTING_KEY);

    // Assess
    expect(payload).toMatchObject({
      summary: eventSentence(rolledBack()),
      source: 'canary-controller/web',
      severity: 'error',
      timestamp: '2025-03-14T09:44:30.512Z',
      component: 'web',
      class: 'rollout.rolledBack',
    });
  });

  it.each(['critical', 'error', 'warning', 'info'] as const)('passes severity %s through', (severity) => {
    expect(pagerDutyTrigger(rolledBack({ severity }), ROUTING_KEY).payload.severity).toBe(severity);
  });

  it('carries the evidence in custom_details', () => {
    // Act
    const { payload } = pagerDutyTrigger(rolledBack(), ROUTING_KEY);

    // Assess
    expect(payload.custom_details).toEqual({
      event: 'web: acme/web:v1.4.2 rolled back at 25%',
      rollout: ROLLOUT_ID,
      image: 'acme/web:v1.4.2',
      reason: 'errorRate: canary 4.12% (41/995) vs stable 0.31% (62/19870), limit 0.81%',
      step: { index: 1, weight: 25 },
      verdict: 'fail',
      evidence: EVIDENCE.map((m) => ({ ...m, detail: evidenceText(m) })),
    });
  });

  it('turns links into PagerDuty links', () => {
    expect(pagerDutyTrigger(rolledBack(), ROUTING_KEY).links).toEqual([
      { href: 'https://canary.example.com/rollouts/web-faec26f150531ab9', text: 'report' },
    ]);
  });

  it('truncates the summary to the 1024 characters PagerDuty allows', () => {
    // Act
    const { payload } = pagerDutyTrigger(
      rolledBack({ reason: 'x'.repeat(5000), verdict: undefined }),
      ROUTING_KEY,
    );

    // Assess
    expect(payload.summary).toHaveLength(1024);
  });

  it('leaves out what the event does not have', () => {
    // Act
    const body = pagerDutyTrigger(started(), ROUTING_KEY);

    // Assess
    expect(body.payload.custom_details).toEqual({
      event: 'web: refused acme/web:v1.4.2',
      rollout: ROLLOUT_ID,
      image: 'acme/web:v1.4.2',
    });
    expect(body).not.toHaveProperty('links');
  });

  it('is the same body for a repeat of the same event (one incident)', () => {
    expect(pagerDutyTrigger(rolledBack(), ROUTING_KEY)).toEqual(pagerDutyTrigger(rolledBack(), ROUTING_KEY));
  });
});

describe('pages', () => {
  it.each([
    ['critical', true],
    ['error', true],
    ['warning', false],
    ['info', false],
  ] as const)('%s → %s', (severity, expected) => {
    expect(pages(severity)).toBe(expected);
  });
});

describe('secrets', () => {
  it('never puts the routing key in the SNS message', () => {
    // Act
    const sns = snsMessage(rolledBack());

    // Assess
    expect(JSON.stringify(sns)).not.toContain(ROUTING_KEY);
  });

  it('puts the routing key only in routing_key of the PagerDuty body', () => {
    // Act
    const { routing_key, ...rest } = pagerDutyTrigger(rolledBack(), ROUTING_KEY);

    // Assess
    expect(routing_key).toBe(ROUTING_KEY);
    expect(JSON.stringify(rest)).not.toContain(ROUTING_KEY);
  });
});

describe('a passed step alone (analyze)', () => {
  const passed: Verdict = { ...VERDICT, result: 'pass', reason: 'passed', metrics: [] };
  const events = [VERDICT, passed, undefined].flatMap((verdict) =>
    [{ index: 1, weight: 25 }, undefined].map(
      (step): StepPassedNotification => ({
        ...rolledBack({ type: 'step.passed', severity: 'info', step, verdict }),
        type: 'step.passed',
      }),
    ),
  );

  it.each(events)(
    'reads as the wording of every event has it (verdict $verdict.result, step $step.index)',
    (event) => {
      expect(snsMessageIn(STEP_PASSED_WORDING, event)).toEqual(snsMessage(event));
    },
  );
});

describe('events without a verdict', () => {
  const types = [
    'rollout.refused',
    'step.passed',
    'approval.requested',
    'rollout.promoted',
    'rollout.rolledBack',
    'rollout.paused',
    'rollback.failed',
  ];
  const events = types.flatMap((type) =>
    [{}, { reason: '' }, { step: undefined, reason: undefined, links: undefined }].map(
      (o): VerdictFreeEvent => ({ ...rolledBack({ ...o, type }), verdict: undefined }),
    ),
  );

  it.each(events)('$type reads the same with the verdict-free wording', (event) => {
    expect(snsMessageIn(VERDICT_FREE_WORDING, event)).toEqual(snsMessage(event));
    expect(pagerDutyTriggerIn(VERDICT_FREE_WORDING, event, ROUTING_KEY)).toEqual(
      pagerDutyTrigger(event, ROUTING_KEY),
    );
  });

  it('a verdict that reaches the verdict-free wording all the same still names each check and its result', () => {
    const event = rolledBack() as unknown as VerdictFreeEvent;
    expect(snsMessageIn(VERDICT_FREE_WORDING, event).message).toContain(
      '  - errorRate: fail (fail, details in `canary status`)',
    );
  });
});
