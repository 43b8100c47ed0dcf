import { envelope } from './aws-events';
import type { ServiceConfig } from './config';
import { CONTROLLER_EVENT_SOURCE } from './event-source';
import {
  REPOSITORY_NAME,
  REPOSITORY_NAME_MAX,
  REPOSITORY_NAME_RULE,
  SERVICE_NAME,
  SERVICE_NAME_RULE,
} from './names';
import * as v from './valibot';

export { alarmStateChangeEvent, executionStatusChangeEvent } from './aws-events';
export { CONTROLLER_EVENT_BUS_NAME, CONTROLLER_EVENT_SOURCE } from './event-source';

const digest = v.pipe(
  v.string(),
  v.regex(/^sha256:[0-9a-f]{64}$/, 'must be an image digest (sha256:<64 hex>)'),
);
const tag = v.pipe(v.string(), v.regex(/^[\w][\w.-]{0,127}$/, 'must be an image tag'));
const upTo255 = v.optional(v.pipe(v.string(), v.maxCodePoints(255)));
const serviceName = v.pipe(v.string(), v.regex(SERVICE_NAME, SERVICE_NAME_RULE));
const repositoryName = v.pipe(
  v.string(),
  v.regex(REPOSITORY_NAME, REPOSITORY_NAME_RULE),
  v.maxCodePoints(REPOSITORY_NAME_MAX),
);

export const ecrImageActionEvent = /* @__PURE__ */ (() =>
  v.object({
    ...envelope,
    source: v.literal('aws.ecr'),
    'detail-type': v.literal('ECR Image Action'),
    detail: v.object({
      'action-type': v.string(),
      result: v.string(),
      'repository-name': repositoryName,
      'image-digest': digest,
      // ECR sends "" for a manifest pushed without a tag (a platform image of a multi-arch index, an attestation).
      // Optional outside too, so the field is optional in the event's type; absent and "" both read as no tag.
      'image-tag': v.optional(
        v.pipe(
          v.unknown(),
          v.transform((value) => (value === '' ? undefined : value)),
          v.optional(tag),
        ),
      ),
      'manifest-media-type': upTo255,
      'artifact-media-type': upTo255,
    }),
  }))();

export const deployRequestedEvent = /* @__PURE__ */ (() =>
  v.object({
    ...envelope,
    source: v.literal(CONTROLLER_EVENT_SOURCE),
    'detail-type': v.literal('Deploy Requested'),
    detail: v.strictObject({
      service: serviceName,
      image: v.strictObject({ digest, tag: v.optional(tag) }),
      requestedBy: v.optional(v.pipe(v.string(), v.maxCodePoints(256))),
      /** Run the image even if it ran before, was superseded or was aborted (`canary start`). */
      rerun: v.optional(v.boolean()),
    }),
  }))();

export const startRolloutEvent = /* @__PURE__ */ v.lazy(() =>
  v.variant(
    'detail-type',
    [ecrImageActionEvent, deployRequestedEvent],
    'expected an "ECR Image Action" or "Deploy Requested" event',
  ),
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
