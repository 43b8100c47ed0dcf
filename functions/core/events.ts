import { envelope } from './aws-events';
import type { ServiceConfig } from './config';
import { repositoryName, serviceName } from './config-names';
import { CONTROLLER_EVENT_SOURCE } from './event-source';
import * as z from './zod';

export { alarmStateChangeEvent, executionStatusChangeEvent } from './aws-events';
export { CONTROLLER_EVENT_BUS_NAME, CONTROLLER_EVENT_SOURCE } from './event-source';

const digest = z
  .string()
  .check(z.regex(/^sha256:[0-9a-f]{64}$/, 'must be an image digest (sha256:<64 hex>)'));
const tag = z.string().check(z.regex(/^[\w][\w.-]{0,127}$/, 'must be an image tag'));
const upTo255 = z.optional(z.string().check(z.maxLength(255)));

export const ecrImageActionEvent = /* @__PURE__ */ z.lazy(() =>
  z.object({
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
  }),
);

export const deployRequestedEvent = /* @__PURE__ */ z.lazy(() =>
  z.object({
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
  }),
);

export const startRolloutEvent = /* @__PURE__ */ z.lazy(() =>
  z.discriminatedUnion('detail-type', [ecrImageActionEvent, deployRequestedEvent], {
    error: (issue) =>
      issue.code === 'invalid_union'
        ? 'expected an "ECR Image Action" or "Deploy Requested" event'
        : undefined,
  }),
);

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
