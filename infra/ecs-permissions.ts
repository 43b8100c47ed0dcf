/**
 * The Amazon ECS statements (and the iam:PassRole they depend on): reading and updating ECS services tagged for this
 * controller, registering a canary task definition revision tagged for it, passing only tagged roles to ECS tasks
 * (Service Authorization Reference, "Actions, resources, and condition keys for Amazon Elastic Container Service" and
 * "... for AWS Identity and Access Management").
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import type { ServiceScope } from './service-permissions';

/** Deployer: `read` (health), `update` (scale, promote, restore), `register` (deploy a canary task definition). */
export type DeployLevel = 'read' | 'update' | 'register';

export function ecsStatements(scope: ServiceScope, fn: ControllerFunction, level: DeployLevel) {
  ecsServices(scope, fn, level);
  if (level === 'read') return;
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'EcsTaskDefinitionsDescribe',
      actions: ['ecs:DescribeTaskDefinition'],
      resources: ['*'],
    }),
    'ecs:DescribeTaskDefinition has no resource types in the Service Authorization Reference (IAM requires "*").',
  );
  passTaskRoles(scope, fn);
  if (level === 'register') registerTaskDefinitions(scope, fn);
}

/** DescribeServices and UpdateService: the service resource type, with aws:ResourceTag/${TagKey}. */
function ecsServices(scope: ServiceScope, fn: ControllerFunction, level: DeployLevel) {
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: level === 'read' ? 'EcsServicesRead' : 'EcsServicesUpdate',
      actions: ['ecs:DescribeServices', ...(level === 'read' ? [] : ['ecs:UpdateService'])],
      resources: scope.ecsPrefixes.map((p) => `${p}service/*`),
      conditions: scope.tagged,
    }),
    "Any ECS service of the configured clusters' regions and accounts, but only one tagged " +
      `${CONTROLLER_TAG_KEY} = this controller's id (aws:ResourceTag condition). Long and short service ARNs alike.`,
  );
}

/**
 * The stable task definition's task and execution roles, passed only to ECS tasks: RegisterTaskDefinition and
 * UpdateService list iam:PassRole as a dependent action (Service Authorization Reference); the role resource type
 * takes aws:ResourceTag/${TagKey}, so only roles tagged for this controller.
 */
function passTaskRoles(scope: ServiceScope, fn: ControllerFunction) {
  if (scope.rolePrefixes.length === 0) return;
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'EcsTaskRolesPass',
      actions: ['iam:PassRole'],
      resources: scope.rolePrefixes.map((p) => `${p}role/*`),
      conditions: {
        StringEquals: {
          'iam:PassedToService': 'ecs-tasks.amazonaws.com',
          ...scope.tagged.StringEquals,
        },
      },
    }),
    `Roles named by task definitions at run time: only roles tagged ${CONTROLLER_TAG_KEY} = this controller's id, ` +
      'passed only to ECS tasks.',
  );
}

/**
 * RegisterTaskDefinition takes aws:RequestTag/${TagKey}: the stable revision's tags are copied to the canary's
 * (adapters/aws/ecs.ts), so a stable task definition tagged for this controller registers a tagged revision, and
 * registering is tagging (TagResource with ecs:CreateAction = RegisterTaskDefinition).
 */
function registerTaskDefinitions(scope: ServiceScope, fn: ControllerFunction) {
  const revisionReason =
    'A new revision is numbered by ECS when registered: only revisions registered with the tag ' +
    `${CONTROLLER_TAG_KEY} = this controller's id (aws:RequestTag condition).`;
  const taskDefinitions = scope.ecsPrefixes.map((p) => `${p}task-definition/*`);
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'EcsTaskDefinitionsRegister',
      actions: ['ecs:RegisterTaskDefinition'],
      resources: taskDefinitions,
      conditions: scope.requestTagged,
    }),
    revisionReason,
  );
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'EcsTaskDefinitionsTagOnRegister',
      actions: ['ecs:TagResource'],
      resources: taskDefinitions,
      conditions: {
        StringEquals: {
          'ecs:CreateAction': 'RegisterTaskDefinition',
          ...scope.requestTagged.StringEquals,
        },
      },
    }),
    `${revisionReason} Tagging only while registering (condition ecs:CreateAction = RegisterTaskDefinition).`,
  );
}
