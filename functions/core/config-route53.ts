/**
 * The `traffic` of a service whose versions are two endpoints behind two weighted records of one DNS name in a
 * Route 53 hosted zone (`kind: "route53"`), and the weight maths of such records.
 *
 * From "Weighted routing" (Route 53 developer guide): records of the same name and type, each with its own
 * SetIdentifier, share the answers in proportion to their Weight (0–255, API_ResourceRecordSet); weight 0 stops
 * answers with that record, but when every record of the group has weight 0 Route 53 answers with all of them
 * alike, and with health checks a zero-weight record is answered when every nonzero one is unhealthy. A weight
 * change reaches a client only when its resolver's cached answer expires (the record's TTL), so each version is
 * judged on the traffic its own endpoint received (`metrics`), never on the weight set.
 */
import * as z from './zod';

const partition = 'aws(?:-[a-z]+)*';
const region = '[a-z]{2}(?:-[a-z]+)+-\\d';
const account = '\\d{12}';

const matching = (pattern: RegExp, message: string) => z.string().check(z.regex(pattern, message));

/** Hosted zone ids as Route 53 returns them, without the `/hostedzone/` prefix (ResourceId: at most 32). */
const hostedZoneId = matching(
  /^Z[A-Z0-9]{1,31}$/,
  'must be a hosted zone id (Z followed by up to 31 capital letters and digits, without /hostedzone/)',
);

/**
 * A record name, lowercase, without the trailing dot: the form the condition key
 * route53:ChangeResourceRecordSetsNormalizedRecordNames compares ("Using IAM policy conditions for fine-grained
 * access control"), so the controller's policy can name it. Wildcards (`*.`) are left out: IAM would need them
 * escaped (\052).
 */
const recordName = matching(
  /^(?=.{1,253}$)(?:[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?\.)+[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/,
  'must be a DNS name in lowercase without the trailing dot (api.example.com)',
);

const loadBalancerArn = matching(
  new RegExp(
    `^arn:${partition}:elasticloadbalancing:${region}:${account}:loadbalancer/app/[\\w-]+/[0-9a-f]+$`,
  ),
  'must be an Application Load Balancer ARN (arn:aws:elasticloadbalancing:<region>:<account>:loadbalancer/app/<name>/<id>)',
);
const targetGroupArn = matching(
  new RegExp(`^arn:${partition}:elasticloadbalancing:${region}:${account}:targetgroup/[\\w-]+/[0-9a-f]+$`),
  'must be a target group ARN (arn:aws:elasticloadbalancing:<region>:<account>:targetgroup/<name>/<id>)',
);

/** One version's endpoint: its weighted record and where its own traffic is measured. */
const endpointSchema = z.strictObject({
  /** The record's SetIdentifier (1–128 characters, ResourceRecordSetIdentifier). */
  setIdentifier: z.string().check(z.minLength(1), z.maxLength(128)),
  /**
   * The Application Load Balancer the record answers with: this version's own traffic is read from its
   * per-load-balancer metrics (AWS/ApplicationELB, LoadBalancer dimension, with the target group's).
   */
  loadBalancerArn,
  /** The target group behind that load balancer where this version runs (the deployer sizes and checks it). */
  targetGroupArn,
});

export const route53TrafficSchema = z
  .strictObject({
    kind: z.literal('route53'),
    hostedZoneId,
    recordName,
    /** A and AAAA (alias records to the load balancers, or addresses) or CNAME (the load balancers' names). */
    recordType: z.enum(['A', 'AAAA', 'CNAME'], { error: 'must be A, AAAA or CNAME' }),
    /**
     * How long resolvers may cache an answer (s): written to both records (non-alias) and the time a weight change
     * needs to reach every client. An alias record to a load balancer answers with the load balancer's own TTL
     * (60 s): set 60 then. At most 180: a rollback waits it out before scaling the canary down, within its
     * function's 280 s.
     */
    ttlSeconds: z._default(
      z
        .int()
        .check(
          z.gte(1),
          z.lte(
            180,
            'at most 180 s: a rollback waits for cached answers to expire before scaling the canary down',
          ),
        ),
      60,
    ),
    stable: endpointSchema,
    canary: endpointSchema,
    /** The target groups' deregistration delay, counted after the TTL has let the cached answers expire. */
    deregistrationDelaySeconds: z._default(z.int().check(z.gte(0), z.lte(3600)), 300),
  })
  .check(
    z.refine((t) => t.stable.setIdentifier !== t.canary.setIdentifier, {
      message: 'must differ from stable.setIdentifier',
      path: ['canary', 'setIdentifier'],
    }),
    z.refine((t) => t.stable.targetGroupArn !== t.canary.targetGroupArn, {
      message: 'must differ from stable.targetGroupArn',
      path: ['canary', 'targetGroupArn'],
    }),
  );

export type Route53Traffic = z.output<typeof route53TrafficSchema>;

export {
  exactRecordWeights,
  MAX_ROUTE53_WEIGHT,
  type RecordWeights,
  recordWeights,
  weightMessage,
} from './record-weights';
