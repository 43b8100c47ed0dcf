/** The approval page's public endpoint: an HTTP API in front of the approval-page function. */
import { RemovalPolicy } from 'aws-cdk-lib';
import * as apigwv2 from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import * as logs from 'aws-cdk-lib/aws-logs';
import type { Construct } from 'constructs';
import type { ControllerFunction } from './controller-function';
import { acknowledge } from './grants';

export interface ApprovalEndpointProps {
  /** The approval-page function the route integrates. */
  readonly page: ControllerFunction;
  /** request-approval, which signs links to the endpoint (APPROVAL_BASE_URL). */
  readonly requestApproval: ControllerFunction;
  readonly logRetention?: logs.RetentionDays;
}

/**
 * GET/HEAD/POST /approve on an HTTP API, throttled and access-logged, and its URL for request-approval. Created in
 * `scope` (the controller) as `ApprovalApi`, the id a deployed stack has.
 */
export function approvalEndpoint(scope: Construct, props: ApprovalEndpointProps): apigwv2.HttpApi {
  const api = new apigwv2.HttpApi(scope, 'ApprovalApi', {
    description: 'Canary controller approval page (signed links)',
  });
  api.addRoutes({
    path: '/approve',
    methods: [apigwv2.HttpMethod.GET, apigwv2.HttpMethod.HEAD, apigwv2.HttpMethod.POST],
    integration: new HttpLambdaIntegration('ApprovalPage', props.page.function),
  });
  const accessLogs = new logs.LogGroup(scope, 'ApprovalApiAccessLogs', {
    retention: props.logRetention ?? logs.RetentionDays.ONE_MONTH,
    removalPolicy: RemovalPolicy.RETAIN,
  });
  const stage = api.defaultStage?.node.defaultChild as apigwv2.CfnStage;
  stage.accessLogSettings = {
    destinationArn: accessLogs.logGroupArn,
    // The route, not the path and query: the query carries the signed link.
    format: JSON.stringify({
      requestId: '$context.requestId',
      ip: '$context.identity.sourceIp',
      time: '$context.requestTime',
      route: '$context.routeKey',
      status: '$context.status',
      length: '$context.responseLength',
      error: '$context.integrationErrorMessage',
    }),
  };
  // A human clicks these links: a low limit is plenty and bounds abuse of a public endpoint.
  stage.defaultRouteSettings = { throttlingRateLimit: 5, throttlingBurstLimit: 10 };

  props.requestApproval.function.addEnvironment('APPROVAL_BASE_URL', api.apiEndpoint);
  for (const route of api.node.findAll().filter((c) => c instanceof apigwv2.HttpRoute)) {
    acknowledge(route, [
      {
        id: 'AwsSolutions-APIG4',
        reason:
          'The approval page is opened from a notification by a human without AWS credentials; every request ' +
          'is authorized by an HMAC-signed, expiring link bound to one rollout wait (functions/core/approval-links.ts).',
      },
    ]);
  }
  return api;
}
