/** The rollout workflow: the Standard state machine of statemachine/canary.asl.json, invoking the task functions. */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { RemovalPolicy } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as logs from 'aws-cdk-lib/aws-logs';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import type { Construct } from 'constructs';
import { type ControllerFunction, REPO_ROOT } from './controller-function';
import { acknowledge } from './grants';
import type { HandlerSpec } from './handlers';

export interface WorkflowProps {
  /** Fixed, so functions know the state machine's ARN without a dependency cycle. */
  readonly stateMachineName: string;
  /** The handlers; those with an `asl` key are the state machine's tasks. */
  readonly specs: Record<string, HandlerSpec>;
  readonly functions: Record<string, ControllerFunction>;
  readonly logRetention?: logs.RetentionDays;
}

/**
 * The ASL inlined with each task's `${<Name>FunctionArn}` substituted, logged and traced, allowed to invoke those
 * functions only. Created in `scope` (the controller) as `StateMachine`, the id a deployed stack has.
 */
export function rolloutWorkflow(scope: Construct, props: WorkflowProps): sfn.StateMachine {
  const definition = readFileSync(path.join(REPO_ROOT, 'statemachine', 'canary.asl.json'), 'utf8');
  const definitionSubstitutions: Record<string, string> = {};
  const invoked: ControllerFunction[] = [];
  for (const [handler, spec] of Object.entries(props.specs)) {
    if (!spec.asl) continue;
    const fn = props.functions[handler] as ControllerFunction;
    definitionSubstitutions[`${spec.asl}FunctionArn`] = fn.function.functionArn;
    invoked.push(fn);
  }
  const stateMachineLogs = new logs.LogGroup(scope, 'StateMachineLogs', {
    // The vendedlogs prefix keeps Step Functions from growing the account's log resource policy.
    logGroupName: `/aws/vendedlogs/states/${props.stateMachineName}`,
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stateMachine = new sfn.StateMachine(scope, 'StateMachine', {
    stateMachineName: props.stateMachineName,
    stateMachineType: sfn.StateMachineType.STANDARD,
    definitionBody: sfn.DefinitionBody.fromString(definition),
    definitionSubstitutions,
    tracingEnabled: true,
    logs: {
      destination: stateMachineLogs,
      level: sfn.LogLevel.ALL,
      // Execution data would log the Bake and RequestApproval inputs, which carry task tokens: bearer
      // credentials that end a wait (approve a step). Events and errors are logged; the data is in DynamoDB.
      includeExecutionData: false,
    },
  });
  stateMachine.role.addToPrincipalPolicy(
    new iam.PolicyStatement({
      actions: ['lambda:InvokeFunction'],
      resources: invoked.map((f) => f.function.functionArn),
    }),
  );
  acknowledge(stateMachine, [
    {
      id: 'AwsSolutions-IAM5[Resource::*]',
      reason:
        'Step Functions log delivery (logs:*LogDelivery, DescribeLogGroups...) and X-Ray (PutTraceSegments, ' +
        'PutTelemetryRecords, GetSampling*) accept only Resource "*" (added by CDK for logs and tracing).',
    },
  ]);
  return stateMachine;
}
