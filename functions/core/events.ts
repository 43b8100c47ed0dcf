import { repositoryName, type ServiceConfig, serviceName } from './config';
import * as z from './zod';

/** The source the controller's own events carry (Deploy Requested from pipelines and the CLI). */
export const CONTROLLER_EVENT_SOURCE = 'canary.controller';
/** The controller's own event bus, where Deploy Requested starts a rollout (its stack's default name). */
export const CONTROLLER_EVENT_BUS_NAME = 'canary-controller';

const digest = z
  .string()
  .check(z.regex(/^sha256:[0-9a-f]{64}$/, 'must be an image digest (sha256:<64 hex>)'));
const tag = z.string().check(z.regex(/^[\w][\w.-]{0,127}$/, 'must be an image tag'));
const nonEmpty = z.string().check(z.minLength(1));
const upTo255 = z.optional(z.string().check(z.maxLength(255)));

// AWS envelopes are parsed loosely (AWS adds fields); the parts the controller relies on are checked strictly.
const envelope = {
  version: z.optional(z.string()),
  id: nonEmpty,
  account: z.optional(z.string()),
  time: nonEmpty,
  region: z.optional(z.string()),
  resources: z.optional(z.array(z.string())),
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
    // ECR sends "" for a manifest pushed without a tag (a platform image of a multi-arch index, an attestation).
    // Optional outside too, so the field is optional in the event's type; absent and "" both read as no tag.
    'image-tag': z.optional(
      z.pipe(
        z.transform((v) => (v === '' ? undefined : v)),
        z.optional(tag),
      ),
    ),
    'manifest-media-type': upTo255,
    'artifact-media-type': upTo255,
  }),
});

export const deployRequestedEvent = z.object({
  ...envelope,
  source: z.literal(CONTROLLER_EVENT_SOURCE),
  'detail-type': z.literal('Deploy Requested'),
  detail: z.strictObject({
    service: serviceName,
    image: z.strictObject({ digest, tag: z.optional(tag) }),
    requestedBy: z.optional(z.string().check(z.maxLength(256))),
    /** Run the image even if it ran before, was superseded or was aborted (`canary start`). */
    rerun: z.optional(z.boolean()),
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

export const alarmStateChangeEvent = z.object({
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
});

export const executionStatusChangeEvent = z.object({
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
});

/** Manifest media types of runnable images: OCI and Docker image manifests, and the indexes of multi-arch images. */
const IMAGE_MANIFESTS = new Set([
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
const IMAGE_INDEXES = new Set([
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
]);
/** Config media types of runnable images; anything else (a signature, an SBOM, an empty config) is an artifact. */
const IMAGE_CONFIGS = new Set([
  'application/vnd.oci.image.config.v1+json',
  'application/vnd.docker.container.image.v1+json',
]);
/**
 * Tags that tools give signatures, attestations and SBOMs they attach to an image: `sha256-<digest>` with an
 * optional suffix (`.sig`, `.att`, `.sbom`), the OCI Distribution Spec's referrers tag schema.
 */
const REFERRER_TAG = /^sha256-[0-9a-f]{64}(?:\.[a-z]+)?$/;

/** The service's `pushes` setting: which ECR pushes start a rollout. */
type EcrPushes = ServiceConfig['pushes'];

/**
 * Why an ECR push does not start a rollout under the service's `pushes` setting, or undefined when it does. ECR
 * sends an "ECR Image Action" event for every manifest pushed (Amazon ECR User Guide, "Amazon ECR events and
 * EventBridge"), with `image-tag` empty for an untagged one and `manifest-media-type` / `artifact-media-type`
 * saying what it is. An index has no config of its own, so only its manifest type is judged.
 */
export function ecrPushSkipReason(
  pushes: EcrPushes,
  push: {
    tag?: string | undefined;
    manifestMediaType?: string | undefined;
    artifactMediaType?: string | undefined;
  },
): string | undefined {
  if (pushes === 'all') return undefined;
  const { tag, manifestMediaType: manifest, artifactMediaType: artifact } = push;
  if (manifest && !IMAGE_MANIFESTS.has(manifest)) return `manifest media type ${manifest} is not an image`;
  if (artifact && !(manifest && IMAGE_INDEXES.has(manifest)) && !IMAGE_CONFIGS.has(artifact)) {
    return `artifact media type ${artifact} is not an image`;
  }
  if (tag && REFERRER_TAG.test(tag)) return `tag ${tag} names an artifact attached to an image`;
  if (!tag && pushes === 'tagged-images') return 'the push has no tag';
  return undefined;
}
