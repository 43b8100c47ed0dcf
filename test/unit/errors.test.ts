import { describe, expect, it } from 'vitest';
import {
  CanaryControllerError,
  CanaryFailedError,
  CanaryNotReadyError,
  ConfigInvalidError,
  causeMessage,
  ErrorName,
  InputInvalidError,
  LockHeldError,
  NotOwnerError,
  RolloutAbortedError,
  TargetNotFoundError,
  TrafficDriftedError,
  TransientError,
  WeightsNotAppliedError,
} from '../../functions/core/errors';

describe('ErrorName', () => {
  it('keeps the stable names the workflow routes on', () => {
    // The state machine's Catch, Retry and Choice match these strings: a rename breaks the workflow.
    expect(ErrorName).toEqual({
      CanaryFailed: 'CanaryFailed',
      AlarmFired: 'AlarmFired',
      Aborted: 'Aborted',
      Superseded: 'Superseded',
      ApprovalRejected: 'ApprovalRejected',
      ApprovalTimedOut: 'ApprovalTimedOut',
      CanaryNotReady: 'CanaryNotReady',
      ConfigInvalid: 'ConfigInvalid',
      InputInvalid: 'InputInvalid',
      TargetNotFound: 'TargetNotFound',
      LockHeld: 'LockHeld',
      WeightsNotApplied: 'WeightsNotApplied',
      Transient: 'Transient',
      AccessDenied: 'AccessDenied',
      TrafficDrifted: 'TrafficDrifted',
      PageNotDelivered: 'PageNotDelivered',
      HookFailed: 'HookFailed',
      HookUnavailable: 'HookUnavailable',
      RollbackFailed: 'RollbackFailed',
    });
  });
});

describe('error classes', () => {
  it.each([
    ['CanaryFailed', () => new CanaryFailedError('errorRate too high')],
    ['CanaryNotReady', () => new CanaryNotReadyError('2 of 3 targets unhealthy')],
    ['TargetNotFound', () => new TargetNotFoundError('listener not found')],
    ['WeightsNotApplied', () => new WeightsNotAppliedError('expected 19:1, found 1:0')],
    ['TrafficDrifted', () => new TrafficDriftedError('expected 25%, found 10%')],
    ['LockHeld', () => new NotOwnerError('web', 'web-0123456789abcdef', 'it changes nothing')],
    ['Transient', () => new TransientError('ThrottlingException')],
    ['LockHeld', () => new LockHeldError('web', 'web-0123456789abcdef')],
    ['ConfigInvalid', () => new ConfigInvalidError('service config', [{ path: 'service', message: 'bad' }])],
    ['InputInvalid', () => new InputInvalidError('event', [{ path: 'detail', message: 'bad' }])],
  ])('%s has its stable name and is a CanaryControllerError', (name, make) => {
    // Act
    const error = make();

    // Assess
    expect(error.name).toBe(name);
    expect(error).toBeInstanceOf(CanaryControllerError);
    expect(error).toBeInstanceOf(Error);
    expect(error.stack).toBeDefined();
  });

  it.each([ErrorName.AlarmFired, ErrorName.Aborted, ErrorName.Superseded] as const)(
    'RolloutAbortedError takes the reason %s as its name',
    (reason) => {
      // Act
      const error = new RolloutAbortedError(reason, 'stopped');

      // Assess
      expect(error.name).toBe(reason);
      expect(error.message).toBe('stopped');
    },
  );

  it('passes the cause through', () => {
    // Prepare
    const cause = new Error('socket hang up');

    // Act
    const errors = [
      new CanaryFailedError('x', { cause }),
      new TargetNotFoundError('x', { cause }),
      new TransientError('x', { cause }),
      new CanaryControllerError(ErrorName.Transient, 'x', { cause }),
    ];

    // Assess
    for (const e of errors) expect(e.cause).toBe(cause);
  });

  it('LockHeldError names the service and the rollout holding the lock', () => {
    // Act
    const error = new LockHeldError('web', 'web-0123456789abcdef');

    // Assess
    expect(error.service).toBe('web');
    expect(error.holder).toBe('web-0123456789abcdef');
    expect(error.message).toBe('service web is locked by rollout web-0123456789abcdef');
  });

  describe('ConfigInvalidError and InputInvalidError', () => {
    it('list every issue with its field path in the message', () => {
      // Act
      const error = new ConfigInvalidError('service config', [
        { path: 'steps[1].weight', message: 'weights must increase: 10 follows 50' },
        { path: 'traffic.listenerArnn', message: 'unknown field' },
      ]);

      // Assess
      expect(error.message).toBe(
        'service config is invalid: steps[1].weight: weights must increase: 10 follows 50; traffic.listenerArnn: unknown field',
      );
      expect(error.issues).toHaveLength(2);
    });

    it('print an issue without a path as its message alone', () => {
      // Act
      const error = new InputInvalidError('start-rollout event', [
        { path: '', message: 'expected an object' },
      ]);

      // Assess
      expect(error.message).toBe('start-rollout event is invalid: expected an object');
      expect(error.issues).toEqual([{ path: '', message: 'expected an object' }]);
    });
  });
});

describe('causeMessage', () => {
  it('returns a plain string cause as it is (the local engine)', () => {
    expect(causeMessage('errorRate: canary 4.12% vs stable 0.31%')).toBe(
      'errorRate: canary 4.12% vs stable 0.31%',
    );
  });

  it('returns the errorMessage of an AWS Lambda error cause', () => {
    // Prepare
    const cause = JSON.stringify({
      errorType: 'CanaryFailed',
      errorMessage: 'errorRate: canary 4.12% (41/995) vs stable 0.31% (62/19870), limit 0.81%',
      trace: ['CanaryFailedError: errorRate ...', '    at Runtime.handler (/var/task/index.mjs:2:18211)'],
    });

    // Act
    const message = causeMessage(cause);

    // Assess
    expect(message).toBe('errorRate: canary 4.12% (41/995) vs stable 0.31% (62/19870), limit 0.81%');
  });

  it('returns an empty message for a missing cause', () => {
    expect(causeMessage(undefined)).toBe('');
    expect(causeMessage(null)).toBe('');
  });

  it('returns a JSON cause that is not a Lambda error as it is', () => {
    expect(causeMessage('{"reason":"operator"}')).toBe('{"reason":"operator"}');
    expect(causeMessage('42')).toBe('42');
    expect(causeMessage('null')).toBe('null');
    expect(causeMessage('"quoted"')).toBe('"quoted"');
  });

  it('returns text that only looks like JSON as it is', () => {
    expect(causeMessage('{not json')).toBe('{not json');
  });

  it('stringifies a non-string errorMessage', () => {
    expect(causeMessage('{"errorType":"X","errorMessage":404}')).toBe('404');
  });
});
