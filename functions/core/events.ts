import * as z from 'zod';
import { repositoryName, serviceName } from './config';

/** The source the controller's own events carry (Deploy Requested from pipelines and the CLI). */
export const CONTROLLER_EVENT_SOURCE = 'canary.controller';

const digest = z.string().regex(/^sha256:[0-9a-f]{64}$/, 'must be an image digest (sha256:<64 hex>)');
const tag = z.string().regex(/^[\w][\w.-]{0,127}$/, 'must be an image tag');

// AWS envelopes are parsed loosely (AWS adds fields); the parts the controller relies on are checked strictly.
const envelope = {
  version: z.string().optional(),
  id: z.string().min(1),
  account: z.string().optional(),
  time: z.string().min(1),
  region: z.string().optional(),
  resources: z.array(z.string()).optional(),
};

export const ecrImageActionEvent = z.object({
  ...envelope,
  source: z.literal('aws.ecr'),
  'detail-type': z.literal('ECR Image Action'),
  detail: z.object({
    'action-type': z.string(),
    result: z.string(),
    'repository-name': repositoryName,
    'image-digest': digest,
    'image-tag': tag.optional(),
  }),
});

export const deployRequestedEvent = z.object({
  ...envelope,
  source: z.literal(CONTROLLER_EVENT_SOURCE),
  'detail-type': z.literal('Deploy Requested'),
  detail: z.strictObject({
    service: serviceName,
    image: z.strictObject({ digest, tag: tag.optional() }),
    requestedBy: z.string().max(256).optional(),
  }),
});

export const startRolloutEvent = z.discriminatedUnion(
  'detail-type',
  [ecrImageActionEvent, deployRequestedEvent],
  {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'expected an "ECR Image Action" or "Deploy Requested" event'
        : undefined,
  },
);
export type StartRolloutEvent = z.infer<typeof startRolloutEvent>;

export const alarmStateChangeEvent = z.object({
  ...envelope,
  source: z.literal('aws.cloudwatch'),
  'detail-type': z.literal('CloudWatch Alarm State Change'),
  detail: z.object({
    alarmName: z.string().min(1),
    state: z.object({
      value: z.enum(['OK', 'ALARM', 'INSUFFICIENT_DATA']),
      reason: z.string().optional(),
      timestamp: z.string().optional(),
    }),
    previousState: z.object({ value: z.string() }).optional(),
  }),
});
export type AlarmStateChangeEvent = z.infer<typeof alarmStateChangeEvent>;

export const executionStatusChangeEvent = z.object({
  ...envelope,
  source: z.literal('aws.states'),
  'detail-type': z.literal('Step Functions Execution Status Change'),
  detail: z.object({
    executionArn: z.string().min(1),
    name: z.string().min(1),
    status: z.enum(['RUNNING', 'SUCCEEDED', 'FAILED', 'TIMED_OUT', 'ABORTED', 'PENDING_REDRIVE']),
    error: z.string().nullish(),
    cause: z.string().nullish(),
    /** The execution input as a JSON string (absent when too large for the event). */
    input: z.string().nullish(),
  }),
});
export type ExecutionStatusChangeEvent = z.infer<typeof executionStatusChangeEvent>;
