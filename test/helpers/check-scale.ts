/**
 * `canary check` over generated services (test/infra/generated-services.ts, as the 500-service synth test has them)
 * against an account that answers every read as found and every simulated call as allowed, counting the requests
 * per operation. `npx tsx -e "import('./test/helpers/check-scale.ts').then(async (m) => console.log(await m.checkRequests(500)))"`
 * prints them.
 */
import { FUNCTION_NEEDS } from '../../cli/check/permissions';
import type { CheckClients } from '../../cli/check/reader';
import { runCheck } from '../../cli/check/run';
import { checkSettings } from '../../cli/check/settings';
import { generatedServices } from '../infra/generated-services';
import { controllerRoles } from './check-account';

const ACCOUNT = '123456789012';
const TAG = 'Platform';

/** A client whose `send` counts the operation and answers with `answer`. */
function counting(counts: Record<string, number>, answer: (op: string, input: never) => unknown) {
  return {
    send: async (command: { constructor: { name: string }; input: never }) => {
      const op = command.constructor.name.replace(/Command$/, '');
      counts[op] = (counts[op] ?? 0) + 1;
      return answer(op, command.input);
    },
  } as never;
}

type In = Record<string, never>;
const tags = [{ Key: 'canary-controller', Value: TAG }];
const ecsTags = [{ key: 'canary-controller', value: TAG }];

function clients(counts: Record<string, number>): CheckClients {
  const c = (answer: (op: string, input: In) => unknown) => counting(counts, answer as never);
  return {
    elbv2: c((op, i) => {
      const arns = (k: string) => i[k] as unknown as string[];
      if (op === 'DescribeListeners')
        return {
          Listeners: arns('ListenerArns').map((ListenerArn) => ({ ListenerArn, DefaultActions: [] })),
        };
      if (op === 'DescribeTargetGroups')
        return { TargetGroups: arns('TargetGroupArns').map((TargetGroupArn) => ({ TargetGroupArn })) };
      if (op === 'DescribeTags')
        return { TagDescriptions: arns('ResourceArns').map((ResourceArn) => ({ ResourceArn, Tags: tags })) };
      return op === 'DescribeRules' ? { Rules: [] } : { Attributes: [] };
    }),
    ecs: c((op, i) => {
      if (op === 'DescribeTaskDefinition') {
        const taskDefinition = {
          taskDefinitionArn: i.taskDefinition,
          taskRoleArn: `arn:aws:iam::${ACCOUNT}:role/task`,
          executionRoleArn: `arn:aws:iam::${ACCOUNT}:role/execution`,
        };
        return { taskDefinition, tags: ecsTags };
      }
      const services = (i.services as unknown as string[]).map((serviceName) => ({
        serviceName,
        serviceArn: `arn:aws:ecs:us-east-1:${ACCOUNT}:service/${i.cluster}/${serviceName}`,
        status: 'ACTIVE',
        taskDefinition: `arn:aws:ecs:us-east-1:${ACCOUNT}:task-definition/${serviceName}:1`,
        tags: ecsTags,
      }));
      return { services, failures: [] };
    }),
    cloudwatch: c((op, i) =>
      op === 'ListMetrics'
        ? { Metrics: [] }
        : {
            MetricAlarms: (i.AlarmNames as unknown as string[]).map((AlarmName) => ({
              AlarmName,
              AlarmArn: `arn:aws:cloudwatch:us-east-1:${ACCOUNT}:alarm:${AlarmName}`,
            })),
          },
    ),
    ecr: c((_op, i) => ({
      repositories: [{ repositoryName: (i.repositoryNames as unknown as string[])[0] }],
    })),
    iam: c((op, i) => {
      if (op === 'ListRoleTags') return { Tags: tags, IsTruncated: false };
      const resources = (i.ResourceArns ?? []) as unknown as string[];
      const EvaluationResults = (i.ActionNames as unknown as string[]).map((EvalActionName) => ({
        EvalActionName,
        EvalResourceName: resources[0] ?? '*',
        EvalDecision: 'allowed',
        ResourceSpecificResults: resources.map((EvalResourceName) => ({
          EvalResourceName,
          EvalResourceDecision: 'allowed',
        })),
      }));
      return { EvaluationResults, IsTruncated: false };
    }),
    xray: c(() => ({ Groups: [] })),
    lambdaIn: () =>
      c((op, i) =>
        op === 'ListTags'
          ? { Tags: { 'canary-controller': TAG } }
          : {
              FunctionArn: `arn:aws:lambda:us-east-1:${ACCOUNT}:function:${i.FunctionName}`,
              State: 'Active',
            },
      ),
  };
}

/** The requests `canary check` sends for `count` generated services, by operation, and the reports' IAM lines. */
export async function checkRequests(count: number) {
  const counts: Record<string, number> = {};
  const settings = checkSettings({
    AWS_REGION: 'us-east-1',
    SERVICES_JSON: JSON.stringify(generatedServices(count)),
    CONTROLLER_ROLES: controllerRoles(Object.keys(FUNCTION_NEEDS)),
    CONTROLLER_TAG: TAG,
  });
  const reports = await runCheck(settings, clients(counts));
  const total = Object.values(counts).reduce((a, b) => a + b, 0);
  const iam = reports.map((r) => r.findings.filter((f) => f.check === 'iam'));
  return { services: count, total, counts, iam };
}
