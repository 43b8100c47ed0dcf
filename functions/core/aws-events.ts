/**
 * The events AWS services send the controller (CloudWatch alarm state changes, Step Functions execution status
 * changes), apart from core/events.ts so a Lambda that parses only these does not bundle the config schemas the
 * push and Deploy Requested events use.
 */
import * as z from './zod';

const nonEmpty = z.string().check(z.minLength(1));

// AWS envelopes are parsed loosely (AWS adds fields); the parts the controller relies on are checked strictly.
export const envelope = {
  version: z.optional(z.string()),
  id: nonEmpty,
  account: z.optional(z.string()),
  time: nonEmpty,
  region: z.optional(z.string()),
  resources: z.optional(z.array(z.string())),
};

export const alarmStateChangeEvent = /* @__PURE__ */ z.lazy(() =>
  z.object({
    ...envelope,
    source: z.literal('aws.cloudwatch'),
    'detail-type': z.literal('CloudWatch Alarm State Change'),
    detail: z.object({
      alarmName: nonEmpty,
      state: z.object({
        value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
        reason: z.optional(z.string()),
        timestamp: z.optional(z.string()),
      }),
      previousState: z.optional(z.object({ value: z.string() })),
    }),
  }),
);

export const executionStatusChangeEvent = /* @__PURE__ */ z.lazy(() =>
  z.object({
    ...envelope,
    source: z.literal('aws.states'),
    'detail-type': z.literal('Step Functions Execution Status Change'),
    detail: z.object({
      executionArn: nonEmpty,
      name: nonEmpty,
      status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
      error: z.nullish(z.string()),
      cause: z.nullish(z.string()),
      /** The execution input as a JSON string (absent when too large for the event). */
      input: z.nullish(z.string()),
    }),
  }),
);
