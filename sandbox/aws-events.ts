/**
 * Events AWS services send through EventBridge, as the sandbox delivers them to the controller's functions: the
 * envelope (EventBridge User Guide, "Amazon EventBridge events": version, id, detail-type, source, account, time,
 * region, resources) around each service's detail.
 */

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';

function envelope<T extends string, S extends string, D>(
  detailType: T,
  source: S,
  detail: D,
  options: { id: string; time: string; resources?: string[] },
) {
  return {
    version: '0',
    id: options.id,
    'detail-type': detailType,
    source,
    account: ACCOUNT,
    time: options.time,
    region: REGION,
    resources: options.resources ?? [],
    detail,
  };
}

/** A successful image push (Amazon ECR User Guide, "Amazon ECR events and EventBridge"). */
export function ecrPushEvent(push: {
  id: string;
  time: string;
  repository: string;
  digest: string;
  tag: string;
}) {
  return envelope(
    'ECR Image Action',
    'aws.ecr',
    {
      result: 'SUCCESS',
      'repository-name': push.repository,
      'image-digest': push.digest,
      'action-type': 'PUSH',
      'image-tag': push.tag,
    },
    push,
  );
}

/** An alarm changing state (CloudWatch User Guide, "Alarm events and EventBridge"). */
export function alarmStateChangeEvent(change: {
  id: string;
  time: string;
  alarmName: string;
  value: 'OK' | 'ALARM';
  reason: string;
  previous: string;
}) {
  return envelope(
    'CloudWatch Alarm State Change',
    'aws.cloudwatch',
    {
      alarmName: change.alarmName,
      state: { value: change.value, reason: change.reason, timestamp: change.time },
      previousState: { value: change.previous },
    },
    {
      id: change.id,
      time: change.time,
      resources: [`arn:aws:cloudwatch:${REGION}:${ACCOUNT}:alarm:${change.alarmName}`],
    },
  );
}
