/**
 * The CLI against AWS: the DynamoDB store and the Step Functions adapters the Lambdas use, and EventBridge
 * PutEvents for `start`. Reads TABLE_NAME, STATE_MACHINE_ARN, EVENT_BUS_NAME (default: the controller's bus, canary-controller),
 * AWS_REGION, and SERVICES_JSON when set (to refuse unknown services by name). cli/stack.ts fills them from a
 * stack's outputs and its config table (`--stack`, CANARY_STACK).
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DescribeImagesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SFNClient } from '@aws-sdk/client-sfn';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { AlbTrafficRouter } from '../functions/adapters/aws/alb';
import { DOCUMENT_OPTIONS, DynamoRolloutStore } from '../functions/adapters/aws/dynamodb';
import { EventBridgeStateChanges } from '../functions/adapters/aws/eventbridge';
import { realSleep, SDK_CLIENT_CONFIG } from '../functions/adapters/aws/sdk';
import { StepFunctionsExecutions } from '../functions/adapters/aws/sfn';
import { parseServiceConfigs } from '../functions/core/config';
import { CONTROLLER_EVENT_BUS_NAME, CONTROLLER_EVENT_SOURCE } from '../functions/core/events';
import { freeText } from '../functions/core/text';
import { Operations } from './operations';
import { OperationError } from './results';

export class MissingSettingError extends Error {}

function need(env: NodeJS.ProcessEnv, name: string): string {
  const v = env[name];
  if (!v || v.trim() === '')
    throw new MissingSettingError(
      `${name} is not set (needed to reach the controller in AWS; or use --sandbox)`,
    );
  return v;
}

export function awsOperations(
  env: NodeJS.ProcessEnv,
  needs: { store?: boolean; sfn?: boolean; events?: boolean },
) {
  const table = needs.store ? need(env, 'TABLE_NAME') : (env.TABLE_NAME ?? '');
  const machine = needs.sfn ? need(env, 'STATE_MACHINE_ARN') : (env.STATE_MACHINE_ARN ?? '');
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  if (!region)
    throw new MissingSettingError(
      'AWS_REGION is not set (needed to reach the controller in AWS; or use --sandbox)',
    );
  const config = { ...SDK_CLIENT_CONFIG, region };
  const bus = env.EVENT_BUS_NAME || CONTROLLER_EVENT_BUS_NAME;
  const doc = DynamoDBDocumentClient.from(new DynamoDBClient(config), DOCUMENT_OPTIONS);
  const events = new EventBridgeClient(config);
  const configs = env.SERVICES_JSON ? parseServiceConfigs(JSON.parse(env.SERVICES_JSON)) : undefined;
  const services = configs?.map((c) => c.service);
  const store = new DynamoRolloutStore(doc, table);
  const ecr = new ECRClient(config);
  return new Operations({
    store,
    // A tag becomes the digest ECR has for it in the service's repository (from its config, else its last rollout).
    resolveTag: async (service, tag) => {
      const repository =
        configs?.find((c) => c.service === service)?.repository ??
        (await store.listByService(service, 1))[0]?.image.repository;
      if (!repository)
        throw new OperationError(
          `cannot tell ${service}'s ECR repository (give --stack or set SERVICES_JSON, or give --image sha256:<digest>)`,
          'refused',
        );
      try {
        const out = await ecr.send(
          new DescribeImagesCommand({ repositoryName: repository, imageIds: [{ imageTag: tag }] }),
        );
        return out.imageDetails?.[0]?.imageDigest;
      } catch (error) {
        if ((error as Error).name === 'ImageNotFoundException') return undefined;
        throw error;
      }
    },
    executions: new StepFunctionsExecutions(new SFNClient(config), machine),
    clock: { now: () => new Date(), workflowSeconds: (s) => Math.max(1, Math.ceil(s)), sleep: realSleep },
    ...(services ? { services: async () => services } : {}),
    requestDeploy: async (service, image) => {
      const out = await events.send(
        new PutEventsCommand({
          Entries: [
            {
              EventBusName: bus,
              Source: CONTROLLER_EVENT_SOURCE,
              DetailType: 'Deploy Requested',
              // `canary start` is the explicit request to run an image again (superseded, aborted, or promoted).
              Detail: JSON.stringify({ service, image, rerun: true }),
            },
          ],
        }),
      );
      const entry = out.Entries?.[0];
      if ((out.FailedEntryCount ?? 0) > 0 || !entry?.EventId)
        throw new OperationError(
          `EventBridge refused the event: ${entry?.ErrorCode ?? 'unknown error'} ${entry?.ErrorMessage ?? ''}`.trim(),
        );
      // The entry's EventId is the event's id (PutEventsResultEntry, EventBridge API Reference), which start-rollout
      // names the rollout after.
      return { eventId: entry.EventId, via: `event ${entry.EventId} on bus ${bus}` };
    },
    // An abort puts 100% on stable at once when the operator's role may change the listener (ModifyListener or
    // ModifyRule); otherwise the answer says so and the workflow's rollback moves it.
    router: new AlbTrafficRouter(new ElasticLoadBalancingV2Client(config)),
    // approve, reject and abort are announced on the controller's bus, as the approval page's decisions are.
    events: new EventBridgeStateChanges(events, bus),
    // The user name goes into the history other operators read: cleaned like a reason.
    actor: `the CLI (${freeText(env.USER ?? '', 64) || 'unknown user'})`,
  });
}
