/** The controller's stack and an example service for `npm run synth` (infra/app.ts). */
import { CfnOutput, Stack, type StackProps } from 'aws-cdk-lib';
import type { Construct } from 'constructs';
import type { ServiceConfigInput } from '../functions/core/config';
import { CanaryController, type CanaryControllerProps } from './canary-controller';

/** The app's stack (infra/app.ts): its template is `cdk.out/<STACK_NAME>.template.json`. */
export const STACK_NAME = 'CanaryControllerStack';

/** An example service: ALB listener with two target groups, the ECS deployer, a preset plan, two gating alarms. */
export const EXAMPLE_SERVICE: ServiceConfigInput = {
  service: 'web',
  repository: 'acme/web',
  tagPattern: 'v*',
  traffic: {
    kind: 'alb',
    listenerArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/web/50dc6c495c0c9188/f2f7dc8efc522ab2',
    stableTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-stable/73e2d6bc24d8a067',
    canaryTargetGroupArn:
      'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/web-canary/2453ed029918f21f',
  },
  deployer: {
    kind: 'ecs',
    cluster: 'prod',
    stableService: 'web',
    canaryService: 'web-canary',
    container: 'web',
    taskDefinitionFamily: 'web',
    taskRoleArn: 'arn:aws:iam::123456789012:role/web-task',
    executionRoleArn: 'arn:aws:iam::123456789012:role/web-task-execution',
  },
  steps: 'Progressive5To100',
  analysis: { alarms: ['web-5xx-high', 'web-p99-latency-high'] },
};

export interface CanaryControllerStackProps extends StackProps {
  readonly controller: CanaryControllerProps;
}

export class CanaryControllerStack extends Stack {
  readonly controller: CanaryController;

  constructor(scope: Construct, id: string, props: CanaryControllerStackProps) {
    super(scope, id, props);
    this.controller = new CanaryController(this, 'Controller', props.controller);
    // What the operator CLI reads (TABLE_NAME, STATE_MACHINE_ARN) and where notifications go.
    new CfnOutput(this, 'TableName', { value: this.controller.table.tableName });
    // Where the CLI finds the service configs (`--stack`: functions/adapters/aws/config-catalog.ts).
    new CfnOutput(this, 'ServiceConfigTableName', { value: this.controller.serviceConfigs.table.tableName });
    new CfnOutput(this, 'StateMachineArn', { value: this.controller.stateMachine.stateMachineArn });
    new CfnOutput(this, 'TopicArn', { value: this.controller.topic.topicArn });
    // Where `canary start` and pipelines put Deploy Requested (EVENT_BUS_NAME).
    new CfnOutput(this, 'EventBusName', { value: this.controller.eventBus.eventBusName });
    if (this.controller.approvalApi?.url)
      new CfnOutput(this, 'ApprovalUrl', { value: this.controller.approvalApi.url });
    // The tag value the services' resources carry (`canary-controller`), for `canary check` (CONTROLLER_TAG).
    new CfnOutput(this, 'ControllerTag', { value: this.controller.controllerId });
    // `canary check` simulates each function's calls against its role (CONTROLLER_ROLES): function → role ARN.
    new CfnOutput(this, 'ControllerRoles', {
      value: this.toJsonString(
        Object.fromEntries(
          Object.entries(this.controller.functions).map(([name, fn]) => [name, fn.role.roleArn]),
        ),
      ),
    });
  }
}
