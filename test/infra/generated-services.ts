/**
 * Generated service configs for the scale test and the cost benchmark: a platform's services spread over 10 load
 * balancers and 5 ECS clusters, half routed by a rule on a shared listener, three tag filters, two gating alarms each, a team topic
 * for one service in 25, a smoke-test function per service.
 */
import type { ServiceConfigInput } from '../../functions/core/config';

const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const hex = (n: number, width = 16) => n.toString(16).padStart(width, '0');

export function generatedServices(count: number): ServiceConfigInput[] {
  return Array.from({ length: count }, (_, i) => {
    const service = `svc-${String(i).padStart(3, '0')}`;
    const lb = i % 10;
    // Even services by a rule on their load balancer's shared listener, odd ones on a listener of their own.
    const listenerId = i % 2 === 0 ? hex(1000 + lb) : hex(10_000 + i);
    const listener = `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:listener/app/platform-${lb}/${hex(lb)}/${listenerId}`;
    const cluster = `platform-${i % 5}`;
    const team = Math.floor(i / 25);
    return {
      service,
      repository: `platform/${service}`,
      ...(i % 3 === 0 ? { tagPattern: 'v*' } : i % 3 === 1 ? { tagPattern: 'release-*' } : {}),
      traffic: {
        kind: 'alb',
        listenerArn: listener,
        ...(i % 2 === 0
          ? { ruleArn: `${listener.replace(':listener/', ':listener-rule/')}/${hex(5000 + i)}` }
          : {}),
        stableTargetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${service}-stable/${hex(2 * i)}`,
        canaryTargetGroupArn: `arn:aws:elasticloadbalancing:${REGION}:${ACCOUNT}:targetgroup/${service}-canary/${hex(2 * i + 1)}`,
      },
      deployer: {
        kind: 'ecs',
        cluster,
        stableService: service,
        canaryService: `${service}-canary`,
        container: 'app',
        taskDefinitionFamily: service,
        taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/${service}-task`,
        executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/${service}-task-execution`,
      },
      steps: 'Progressive5To100',
      analysis: { alarms: [`${service}-5xx-high`, `${service}-p99-latency-high`] },
      // A smoke test before traffic, a Lambda function per service: far more than IAM could list.
      hooks: { beforeTraffic: [{ name: 'smoke', lambda: `${service}-smoke` }] },
      ...(i % 25 === 0
        ? { notifications: { snsTopicArn: `arn:aws:sns:${REGION}:${ACCOUNT}:team-${team}-rollouts` } }
        : {}),
    } satisfies ServiceConfigInput;
  });
}
