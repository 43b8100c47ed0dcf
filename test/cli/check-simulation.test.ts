/**
 * `canary check` simulates the controller's IAM for all the services it checks at once: a call several services
 * share is simulated once, and the resources with the same actions and request context go in one
 * SimulatePrincipalPolicy request (each action is evaluated for each resource: IAM API reference), so 500 services
 * cost a few hundred requests, not one per service and call.
 */
import { SimulatePrincipalPolicyCommand } from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../cli/check/findings';
import { FUNCTION_NEEDS, simulationBatches } from '../../cli/check/permissions';
import { main } from '../../cli/main';
import { checkedConfig, cleanAccount, controllerRoles, mockAccount } from '../helpers/check-account';
import { checkRequests } from '../helpers/check-scale';
import { CANARY_TG_ARN, LISTENER_RULE_ARN, REGION, STABLE_TG_ARN } from '../helpers/config';

describe('simulation batches', () => {
  it("puts the resources with the same actions and context in one request, '*' alone, at most the limit", () => {
    const ctx = { 'aws:ResourceTag/canary-controller': 'Platform' };
    const batches = simulationBatches(
      [
        { action: 'ecs:DescribeServices', resource: 'svc/a', context: ctx },
        { action: 'ecs:UpdateService', resource: 'svc/a', context: ctx },
        { action: 'ecs:UpdateService', resource: 'svc/b', context: ctx },
        { action: 'ecs:DescribeServices', resource: 'svc/b', context: ctx },
        { action: 'ecs:DescribeServices', resource: 'svc/c', context: ctx },
        { action: 'ecs:UpdateService', resource: 'svc/c', context: ctx },
        { action: 'ecs:DescribeServices', resource: 'svc/d' },
        { action: 'elasticloadbalancing:DescribeRules', resource: '*' },
        { action: 'elasticloadbalancing:DescribeRules', resource: 'rule/x' },
      ],
      2,
    );
    expect(batches).toEqual([
      { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: ['svc/a', 'svc/b'], context: ctx },
      { actions: ['ecs:DescribeServices', 'ecs:UpdateService'], resources: ['svc/c'], context: ctx },
      { actions: ['ecs:DescribeServices'], resources: ['svc/d'] },
      { actions: ['elasticloadbalancing:DescribeRules'], resources: ['*'] },
      { actions: ['elasticloadbalancing:DescribeRules'], resources: ['rule/x'] },
    ]);
  });
});

let mocks: ReturnType<typeof mockAccount> | undefined;
afterEach(() => {
  mocks?.restore();
  mocks = undefined;
});

/** `canary check` of these services against the clean account; the reports and the simulation requests. */
async function check(services: object[], account = cleanAccount()) {
  mocks = mockAccount(account);
  const out: string[] = [];
  await main(['check', '--json'], {
    stdout: (s: string) => out.push(s),
    stderr: () => undefined,
    env: {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      SERVICES_JSON: JSON.stringify(services),
      CONTROLLER_ROLES: controllerRoles(Object.keys(FUNCTION_NEEDS)),
    },
    cwd: process.cwd(),
  });
  const requests = mocks.iam
    .calls()
    .filter((c) => c.args[0] instanceof SimulatePrincipalPolicyCommand)
    .map(
      (c) => c.args[0].input as { PolicySourceArn: string; ActionNames: string[]; ResourceArns?: string[] },
    );
  const body = JSON.parse(out.join('')) as { services: { service: string; findings: Finding[] }[] };
  return { requests, services: body.services };
}

describe('canary check: the IAM simulation of many services', () => {
  it('simulates a call two services share once, and judges each service by its own calls', async () => {
    // Prepare: two services on one listener, each with its own rule, target groups and repository.
    const web = checkedConfig();
    const own = (arn: string) => `${arn.slice(0, -4)}beef`;
    const twin = {
      ...web,
      service: 'web-twin',
      repository: 'acme/web-twin',
      traffic: {
        ...web.traffic,
        ruleArn: own(LISTENER_RULE_ARN),
        stableTargetGroupArn: own(STABLE_TG_ARN),
        canaryTargetGroupArn: own(CANARY_TG_ARN),
      },
    };
    const account = cleanAccount();
    account.denied[`elasticloadbalancing:ModifyRule ${LISTENER_RULE_ARN}`] = 'implicitDeny';
    // Act
    const one = await check([web], structuredClone(account));
    mocks?.restore();
    const two = await check([web, twin], structuredClone(account));
    // Assess: no (role, action, resource) evaluated twice, and far fewer requests than twice one service's.
    const evaluated = two.requests.flatMap((r) =>
      r.ActionNames.flatMap((a) =>
        (r.ResourceArns ?? ['*']).map((res) => `${r.PolicySourceArn} ${a} ${res}`),
      ),
    );
    expect(new Set(evaluated).size).toBe(evaluated.length);
    expect(two.requests.length).toBeLessThan(1.5 * one.requests.length);
    // Each service is judged by its own calls: web's rule is denied, the twin's is not.
    const denied = (service: string) =>
      two.services
        .find((s) => s.service === service)
        ?.findings.filter((f) => f.check === 'iam' && f.status === 'error')
        .map((f) => f.message);
    const modifyRule = (arn: string) =>
      expect.stringMatching(
        new RegExp(`may not call elasticloadbalancing:ModifyRule on ${arn} \\(implicitDeny\\)`),
      );
    expect(denied('web')).toContainEqual(modifyRule(LISTENER_RULE_ARN));
    expect(denied('web-twin')).not.toContainEqual(modifyRule(own(LISTENER_RULE_ARN)));
    expect(denied('web-twin')).not.toContainEqual(modifyRule(LISTENER_RULE_ARN));
  });

  it('checks 500 generated services with fewer simulation requests than services', async () => {
    const { counts, iam } = await checkRequests(500);
    expect(counts.SimulatePrincipalPolicy).toBeLessThan(500);
    expect(iam.every((findings) => findings.length === 1 && findings[0]?.status === 'ok')).toBe(true);
  });
});
