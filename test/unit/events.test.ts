import { describe, expect, it } from 'vitest';
import { parseServiceConfig, stepSpecs } from '../../functions/core/config';
import { causeMessage, InputInvalidError } from '../../functions/core/errors';
import {
  alarmStateChangeEvent,
  CONTROLLER_EVENT_SOURCE,
  deployRequestedEvent,
  ecrImageActionEvent,
  ecrPushSkipReason,
  executionStatusChangeEvent,
  startRolloutEvent,
} from '../../functions/core/events';
import { buildPlan } from '../../functions/core/plan';
import { rolloutIdFor } from '../../functions/core/rollout';
import * as v from '../../functions/core/valibot';
import { parseInput } from '../../functions/core/validation';
import { rolloutDocOf } from '../../functions/tasks/lib/inputs';
import { ALARMS, IMAGE_DIGEST, IMAGE_TAG, REPOSITORY, ROLLOUT_ID, SERVICE } from '../helpers/config';
import { EVENT_FIXTURE_NAMES, loadEvent } from '../helpers/fixtures';

/** The issues a schema reports for a value, as field paths and messages. */
function issuesOf(schema: v.GenericSchema, value: unknown, subject = 'event') {
  try {
    parseInput(schema, value, subject);
  } catch (error) {
    expect(error).toBeInstanceOf(InputInvalidError);
    return (error as InputInvalidError).issues;
  }
  throw new Error('expected the event to be rejected');
}

describe('event fixtures', () => {
  it.each(EVENT_FIXTURE_NAMES)('%s is a complete EventBridge envelope', (name) => {
    // Act
    const event = loadEvent(name);

    // Assess
    expect(event).toMatchObject({
      version: '0',
      id: expect.stringMatching(/^[0-9a-f-]{36}$/),
      account: '123456789012',
      region: 'us-east-1',
      time: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
      resources: expect.any(Array),
      source: expect.any(String),
      'detail-type': expect.any(String),
      detail: expect.any(Object),
    });
  });

  it('loadEvent returns a fresh copy every time', () => {
    // Prepare
    const first = loadEvent('ecr/push');

    // Act
    first.detail['image-tag'] = 'mutated';
    const second = loadEvent('ecr/push');

    // Assess
    expect(second.detail['image-tag']).toBe(IMAGE_TAG);
    expect(second).not.toBe(first);
  });
});

describe('startRolloutEvent', () => {
  describe('ECR Image Action', () => {
    it('parses an image push', () => {
      // Act
      const event = v.parse(startRolloutEvent, loadEvent('ecr/push'));

      // Assess
      expect(event['detail-type']).toBe('ECR Image Action');
      if (event['detail-type'] !== 'ECR Image Action') throw new Error('narrowing');
      expect(event.detail).toEqual({
        'action-type': 'PUSH',
        result: 'SUCCESS',
        'repository-name': REPOSITORY,
        'image-digest': IMAGE_DIGEST,
        'image-tag': IMAGE_TAG,
        'manifest-media-type': 'application/vnd.oci.image.manifest.v1+json',
        'artifact-media-type': 'application/vnd.oci.image.config.v1+json',
      });
    });

    it('parses an untagged push', () => {
      // Act
      const event = v.parse(ecrImageActionEvent, loadEvent('ecr/push-untagged'));

      // Assess
      expect(event.detail['image-tag']).toBeUndefined();
      expect(event.detail['image-digest']).toMatch(/^sha256:[0-9a-f]{64}$/);
    });

    it.each([
      ['ecr/push-failed', 'PUSH', 'FAILURE'],
      ['ecr/delete', 'DELETE', 'SUCCESS'],
    ] as const)(
      'parses %s and keeps action-type and result for the handler to filter',
      (name, action, result) => {
        // Act
        const event = v.parse(ecrImageActionEvent, loadEvent(name));

        // Assess
        expect(event.detail['action-type']).toBe(action);
        expect(event.detail.result).toBe(result);
      },
    );

    it('rejects a push without image-digest, naming the field', () => {
      // Prepare
      const event = loadEvent('ecr/push');
      delete event.detail['image-digest'];

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path)).toEqual(['detail.image-digest']);
    });

    it.each([
      ['a tag', 'latest'],
      ['a short digest', 'sha256:faec26f150531ab9'],
      ['an uppercase digest', `sha256:${'A'.repeat(64)}`],
    ])('rejects %s as image-digest, naming the field', (_, digest) => {
      // Prepare
      const event = loadEvent('ecr/push');
      event.detail['image-digest'] = digest;

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues).toEqual([{ path: 'detail.image-digest', message: expect.stringMatching(/digest/) }]);
    });

    it('rejects a bad repository name, naming the field', () => {
      // Prepare
      const event = loadEvent('ecr/push');
      event.detail['repository-name'] = 'Acme/Web';

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path)).toEqual(['detail.repository-name']);
    });

    it('rejects a bad image tag, naming the field', () => {
      // Prepare
      const event = loadEvent('ecr/push');
      event.detail['image-tag'] = '-starts-with-dash';

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path)).toEqual(['detail.image-tag']);
    });

    it('ignores fields AWS adds to the envelope and the detail', () => {
      // Prepare
      const event = { ...loadEvent('ecr/push'), 'replay-name': 'replay-2025-03-14' };
      (event.detail as unknown as Record<string, unknown>)['image-scan-status'] = 'PENDING';

      // Act
      const parsed = v.parse(ecrImageActionEvent, event);

      // Assess
      expect(parsed).not.toHaveProperty('replay-name');
      expect(parsed.detail).not.toHaveProperty('image-scan-status');
    });

    it('rejects an ECR event from another source', () => {
      // Prepare
      const event = { ...loadEvent('ecr/push'), source: 'attacker.ecr' };

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path)).toEqual(['source']);
    });
  });

  describe('Deploy Requested', () => {
    it('parses the controller event', () => {
      // Act
      const event = v.parse(startRolloutEvent, loadEvent('controller/deploy-requested'));

      // Assess
      expect(event.source).toBe(CONTROLLER_EVENT_SOURCE);
      if (event['detail-type'] !== 'Deploy Requested') throw new Error('narrowing');
      expect(event.detail.service).toBe(SERVICE);
      expect(event.detail.image).toEqual({ digest: IMAGE_DIGEST, tag: IMAGE_TAG });
      expect(event.detail.requestedBy).toContain('deploy-pipeline');
    });

    it('names the same image as the ECR push, so both map to one rollout', () => {
      // Prepare
      const push = v.parse(ecrImageActionEvent, loadEvent('ecr/push'));
      const request = v.parse(deployRequestedEvent, loadEvent('controller/deploy-requested'));

      // Act
      const ids = [
        rolloutIdFor(SERVICE, push.detail['image-digest']),
        rolloutIdFor(request.detail.service, request.detail.image.digest),
      ];

      // Assess
      expect(ids).toEqual([ROLLOUT_ID, ROLLOUT_ID]);
    });

    it('rejects an unknown key in detail, naming it', () => {
      // Prepare
      const event = loadEvent('controller/deploy-requested');
      const tampered = { ...event, detail: { ...event.detail, skipAnalysis: true } };

      // Act
      const issues = issuesOf(startRolloutEvent, tampered);

      // Assess
      expect(issues).toEqual([{ path: 'detail.skipAnalysis', message: 'unknown field' }]);
    });

    it('carries `rerun` (canary start) as a boolean, and names it when it is anything else', () => {
      // Prepare
      const event = loadEvent('controller/deploy-requested');
      const rerun = { ...event, detail: { ...event.detail, rerun: true } };
      const bad = { ...event, detail: { ...event.detail, rerun: 'yes' } };

      // Act
      const parsed = v.parse(startRolloutEvent, rerun);
      const issues = issuesOf(startRolloutEvent, bad);

      // Assess
      expect(parsed['detail-type'] === 'Deploy Requested' && parsed.detail.rerun).toBe(true);
      expect(issues.map((i) => i.path)).toEqual(['detail.rerun']);
    });

    it('rejects an unknown key in detail.image, naming it', () => {
      // Prepare
      const event = loadEvent('controller/deploy-requested');
      const tampered = {
        ...event,
        detail: { ...event.detail, image: { ...event.detail.image, repository: 'x' } },
      };

      // Act
      const issues = issuesOf(startRolloutEvent, tampered);

      // Assess
      expect(issues).toEqual([{ path: 'detail.image.repository', message: 'unknown field' }]);
    });

    it('rejects a bad digest and a bad service name, naming both', () => {
      // Prepare
      const event = loadEvent('controller/deploy-requested');
      event.detail.image.digest = 'sha256:nope';
      event.detail.service = 'Web API';

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path).sort()).toEqual(['detail.image.digest', 'detail.service']);
    });

    it('rejects a Deploy Requested event from another source', () => {
      // Prepare
      const event = { ...loadEvent('controller/deploy-requested'), source: 'aws.ecr' };

      // Act
      const issues = issuesOf(startRolloutEvent, event);

      // Assess
      expect(issues.map((i) => i.path)).toEqual(['source']);
    });
  });

  it('rejects another detail-type, saying which it expects', () => {
    // Prepare
    const event = { ...loadEvent('ecr/push'), 'detail-type': 'ECR Image Scan' };

    // Act
    const issues = issuesOf(startRolloutEvent, event);

    // Assess
    expect(issues).toEqual([
      { path: 'detail-type', message: 'expected an "ECR Image Action" or "Deploy Requested" event' },
    ]);
  });

  it('rejects an array as an event, saying it is not an object', () => {
    expect(issuesOf(startRolloutEvent, [])).toEqual([
      { path: '', message: 'Invalid input: expected object, received array' },
    ]);
  });

  it('rejects a Deploy Requested detail given as an array, saying it is not an object', () => {
    // Prepare
    const event = { ...loadEvent('controller/deploy-requested'), detail: ['x'] };

    // Act
    const issues = issuesOf(startRolloutEvent, event);

    // Assess
    expect(issues).toEqual([{ path: 'detail', message: 'Invalid input: expected object, received array' }]);
  });

  it('rejects an envelope without id or time, naming them', () => {
    // Prepare
    const { id: _id, time: _time, ...event } = loadEvent('ecr/push');

    // Act
    const issues = issuesOf(startRolloutEvent, event);

    // Assess
    expect(issues.map((i) => i.path).sort()).toEqual(['id', 'time']);
  });
});

describe('alarmStateChangeEvent', () => {
  it('parses an alarm going into ALARM', () => {
    // Act
    const event = v.parse(alarmStateChangeEvent, loadEvent('cloudwatch/alarm'));

    // Assess
    expect(event.detail.alarmName).toBe(ALARMS[0]);
    expect(event.detail.state.value).toBe('ALARM');
    expect(event.detail.state.reason).toMatch(/Threshold Crossed/);
    expect(event.detail.state.timestamp).toBeDefined();
    expect(event.detail.previousState?.value).toBe('OK');
  });

  it('parses an alarm going back to OK', () => {
    // Act
    const event = v.parse(alarmStateChangeEvent, loadEvent('cloudwatch/ok'));

    // Assess
    expect(event.detail.state.value).toBe('OK');
    expect(event.detail.previousState?.value).toBe('ALARM');
  });

  it('rejects an unknown state value, naming the field', () => {
    // Prepare
    const event = loadEvent('cloudwatch/alarm');
    event.detail.state.value = 'FIRING';

    // Act
    const issues = issuesOf(alarmStateChangeEvent, event);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['detail.state.value']);
  });

  it('rejects a missing alarm name, naming the field', () => {
    // Prepare
    const event = loadEvent('cloudwatch/alarm');
    event.detail.alarmName = '';

    // Act
    const issues = issuesOf(alarmStateChangeEvent, event);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['detail.alarmName']);
  });
});

describe('executionStatusChangeEvent', () => {
  it.each([
    ['states/failed', 'FAILED'],
    ['states/aborted', 'ABORTED'],
    ['states/succeeded', 'SUCCEEDED'],
  ] as const)('parses %s', (name, status) => {
    // Act
    const event = v.parse(executionStatusChangeEvent, loadEvent(name));

    // Assess
    expect(event.detail.status).toBe(status);
    expect(event.detail.name).toBe(ROLLOUT_ID);
    expect(event.detail.executionArn).toMatch(new RegExp(`:execution:canary-controller:${ROLLOUT_ID}$`));
  });

  it.each(['states/failed', 'states/succeeded', 'states/aborted'] as const)(
    '%s carries the input executions start with, the rollout document under `rollout`',
    (name) => {
      const event = v.parse(executionStatusChangeEvent, loadEvent(name));
      expect(Object.keys(JSON.parse(event.detail.input ?? 'null'))).toEqual(['rollout']);
      expect(rolloutDocOf(event.detail.input)).toMatchObject({ rolloutId: ROLLOUT_ID, service: SERVICE });
    },
  );

  it('carries the rollout document as its input, with a config the schema still accepts', () => {
    // Prepare
    const event = v.parse(executionStatusChangeEvent, loadEvent('states/failed'));

    // Act
    const doc = JSON.parse(event.detail.input ?? 'null').rollout;

    // Assess
    expect(doc).toMatchObject({
      rolloutId: ROLLOUT_ID,
      service: SERVICE,
      image: { repository: REPOSITORY, digest: IMAGE_DIGEST, tag: IMAGE_TAG },
      trigger: 'ecr-push',
    });
    const config = parseServiceConfig(doc.config);
    expect(doc.plan).toEqual(buildPlan(stepSpecs(config)));
  });

  it('carries the Lambda error cause of a failed execution', () => {
    // Act
    const event = v.parse(executionStatusChangeEvent, loadEvent('states/failed'));

    // Assess
    expect(event.detail.error).toBe('CanaryFailed');
    expect(causeMessage(event.detail.cause)).toMatch(/^errorRate: canary 4\.12%/);
  });

  it('accepts null error and cause', () => {
    // Act
    const event = v.parse(executionStatusChangeEvent, loadEvent('states/aborted'));

    // Assess
    expect(event.detail.error).toBeNull();
    expect(event.detail.cause).toBeNull();
  });

  it('accepts an event whose input was too large to include', () => {
    // Prepare
    const event = loadEvent('states/failed');
    event.detail.input = null;
    event.detail.inputDetails = { included: false };

    // Act
    const parsed = v.parse(executionStatusChangeEvent, event);

    // Assess
    expect(parsed.detail.input).toBeNull();
  });

  it('rejects an unknown status, naming the field', () => {
    // Prepare
    const event = loadEvent('states/failed');
    event.detail.status = 'EXPLODED';

    // Act
    const issues = issuesOf(executionStatusChangeEvent, event);

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['detail.status']);
  });

  it('rejects a missing execution ARN, naming the field', () => {
    // Prepare
    const event = loadEvent('states/failed');
    const { executionArn: _, ...detail } = event.detail;

    // Act
    const issues = issuesOf(executionStatusChangeEvent, { ...event, detail });

    // Assess
    expect(issues.map((i) => i.path)).toEqual(['detail.executionArn']);
  });
});

describe('ecrPushSkipReason', () => {
  const image = {
    manifestMediaType: 'application/vnd.oci.image.manifest.v1+json',
    artifactMediaType: 'application/vnd.oci.image.config.v1+json',
  };

  it('takes tagged images and indexes, Docker or OCI', () => {
    expect(ecrPushSkipReason('tagged-images', { ...image, tag: 'v1.5.0' })).toBeUndefined();
    expect(
      ecrPushSkipReason('tagged-images', {
        tag: 'v1.5.0',
        manifestMediaType: 'application/vnd.docker.distribution.manifest.list.v2+json',
        artifactMediaType: 'application/vnd.oci.empty.v1+json',
      }),
    ).toBeUndefined();
    expect(
      ecrPushSkipReason('tagged-images', {
        tag: 'v1',
        manifestMediaType: 'application/vnd.docker.distribution.manifest.v2+json',
        artifactMediaType: 'application/vnd.docker.container.image.v1+json',
      }),
    ).toBeUndefined();
    // the example event of the ECR User Guide names no media type
    expect(ecrPushSkipReason('tagged-images', { tag: 'latest' })).toBeUndefined();
  });

  it('skips untagged pushes unless the service takes them', () => {
    expect(ecrPushSkipReason('tagged-images', image)).toBe('the push has no tag');
    expect(ecrPushSkipReason('images', image)).toBeUndefined();
  });

  it('skips artifacts unless the service takes every push', () => {
    const sbom = { ...image, tag: 'sbom', artifactMediaType: 'application/spdx+json' };
    expect(ecrPushSkipReason('images', sbom)).toBe(
      'artifact media type application/spdx+json is not an image',
    );
    expect(
      ecrPushSkipReason('images', { tag: 'x', manifestMediaType: 'application/vnd.cncf.helm.chart' }),
    ).toMatch(/not an image/);
    expect(ecrPushSkipReason('images', { ...image, tag: `sha256-${'a'.repeat(64)}.att` })).toMatch(
      /artifact/,
    );
    expect(ecrPushSkipReason('all', sbom)).toBeUndefined();
  });
});
