/**
 * The events AWS services send the controller (CloudWatch alarm state changes, Step Functions execution status
 * changes), apart from core/events.ts so a Lambda that parses only these does not bundle the config schemas the
 * push and Deploy Requested events use.
 */
import * as v from './valibot';

const nonEmpty = v.pipe(v.string(), v.minLength(1));

// AWS envelopes are parsed loosely (AWS adds fields); the parts the controller relies on are checked strictly.
export const envelope = {
  version: v.optional(v.string()),
  id: nonEmpty,
  account: v.optional(v.string()),
  time: nonEmpty,
  region: v.optional(v.string()),
  resources: v.optional(v.array(v.string())),
};

export const alarmStateChangeEvent = /* @__PURE__ */ v.lazy(() =>
  v.object({
    ...envelope,
    source: v.literal('aws.cloudwatch'),
    'detail-type': v.literal('CloudWatch Alarm State Change'),
    detail: v.object({
      alarmName: nonEmpty,
      state: v.object({
        value: v.picklist(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
        reason: v.optional(v.string()),
        timestamp: v.optional(v.string()),
      }),
      previousState: v.optional(v.object({ value: v.string() })),
    }),
  }),
);

export const executionStatusChangeEvent = /* @__PURE__ */ v.lazy(() =>
  v.object({
    ...envelope,
    source: v.literal('aws.states'),
    'detail-type': v.literal('Step Functions Execution Status Change'),
    detail: v.object({
      executionArn: nonEmpty,
      name: nonEmpty,
      status: v.picklist(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
      error: v.nullish(v.string()),
      cause: v.nullish(v.string()),
      /** The execution input as a JSON string (absent when too large for the event). */
      input: v.nullish(v.string()),
    }),
  }),
);
