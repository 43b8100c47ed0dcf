/**
 * `canary check` simulates the controller's IAM for all the services it checks at once: a call several services
 * share is simulated once, and the resources with the same actions and request context go in one
 * SimulatePrincipalPolicy request (each action is evaluated for each resource: IAM API reference), so 500 services
 * cost a few hundred requests, not one per service and call.
 */
import {
  SimulatePrincipalPolicyCommand,
  type SimulatePrincipalPolicyCommandInput,
} from '@aws-sdk/client-iam';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../cli/check/findings';
import { FUNCTION_NEEDS, simulationBatches } from '../../cli/check/permissions';
import { main } from '../../cli/main';
import {
  type AccountFixture,
  checkedConfig,
  cleanAccount,
  controllerRoles,
  mockAccount,
  simulated,
} from '../helpers/check-account';
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
async function check(
  services: object[],
  account = cleanAccount(),
  prepare: (m: ReturnType<typeof mockAccount>) => void = () => {},
) {
  mocks = mockAccount(account);
  prepare(mocks);
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
      (c) =>
        c.args[0].input as {
          PolicySourceArn: string;
          ActionNames: string[];
          ResourceArns?: string[];
          ContextEntries?: unknown[];
          Marker?: string;
        },
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

/** A second service on web's listener, with its own rule, target groups and repository, and no hooks. */
function twinOf(web: ReturnType<typeof checkedConfig>) {
  const own = (arn: string) => `${arn.slice(0, -4)}beef`;
  const { hooks: _, ...rest } = web;
  return {
    ...rest,
    service: 'web-twin',
    repository: 'acme/web-twin',
    traffic: {
      ...web.traffic,
      ruleArn: own(LISTENER_RULE_ARN),
      stableTargetGroupArn: own(STABLE_TG_ARN),
      canaryTargetGroupArn: own(CANARY_TG_ARN),
    },
  };
}
const TWIN_RULE = `${LISTENER_RULE_ARN.slice(0, -4)}beef`;

const iamFindings = (services: { service: string; findings: Finding[] }[], service: string) =>
  services.find((s) => s.service === service)?.findings.filter((f) => f.check === 'iam') ?? [];

describe('canary check: IAM simulation answers', () => {
  it('reports as not checked only the services whose calls were in a request IAM refused', async () => {
    // Prepare: web has a hook function; IAM refuses the request that simulates invoking it (not a denial).
    const web = { ...checkedConfig(), hooks: { beforeTraffic: [{ name: 'smoke', lambda: 'web-smoke' }] } };
    // Act
    const { services } = await check([web, twinOf(web)], cleanAccount(), (m) =>
      m.iam
        .on(SimulatePrincipalPolicyCommand, { ActionNames: ['lambda:InvokeFunction'] })
        .rejects(Object.assign(new Error('bad input'), { name: 'InvalidInputException', $fault: 'client' })),
    );
    // Assess: web's IAM is not checked, with a fix that is not about the caller's rights; the twin's is.
    expect(iamFindings(services, 'web')).toEqual([
      {
        check: 'iam',
        status: 'not-checked',
        message: expect.stringContaining('iam:SimulatePrincipalPolicy: InvalidInputException: bad input'),
        fix: 'run the check again; if IAM refuses the request again, the error above says what it refused',
      },
    ]);
    expect(iamFindings(services, 'web-twin')).toEqual([
      expect.objectContaining({ check: 'iam', status: 'ok' }),
    ]);
  });

  it('reads every page of a truncated answer (IsTruncated, Marker)', async () => {
    // Prepare: IAM answers one evaluation result a page; the last of the four ELB Describe actions (one request on
    // "*", DescribeTargetHealth last) is denied.
    const account = cleanAccount();
    account.denied['elasticloadbalancing:DescribeTargetHealth *'] = 'implicitDeny';
    const web = checkedConfig();
    // Act
    const { services, requests } = await check([web, twinOf(web)], account, (m) =>
      m.iam.on(SimulatePrincipalPolicyCommand).callsFake((input) => paged(account, input)),
    );
    // Assess: each service has that denial, from a last page, and nothing else (an unread page's calls would be).
    for (const service of ['web', 'web-twin'])
      expect(iamFindings(services, service)).toEqual([
        expect.objectContaining({
          status: 'error',
          message: expect.stringMatching(/may not call elasticloadbalancing:DescribeTargetHealth on \* /),
        }),
      ]);
    // Each next page was asked with the Marker of the page before, the request otherwise the same.
    const next = requests.flatMap((r, i) => (r.Marker ? [[requests[i - 1], r] as const] : []));
    expect(next.length).toBeGreaterThan(0);
    for (const [before, after] of next) {
      const { Marker, ...rest } = after;
      expect(Marker).toBe(`page-${Number(before?.Marker?.slice('page-'.length) ?? 0) + 1}`);
      expect({ ...before, Marker: undefined }).toEqual({ ...rest, Marker: undefined });
    }
  });

  it('takes each resource’s decision from its own result, whatever order IAM lists them in', async () => {
    // Prepare: of the two rules simulated in one request, only the twin's (the second resource) is denied, and
    // IAM lists the per-resource results in reverse.
    const account = cleanAccount();
    account.denied[`elasticloadbalancing:ModifyRule ${TWIN_RULE}`] = 'implicitDeny';
    const web = checkedConfig();
    // Act
    const { services, requests } = await check([web, twinOf(web)], account, (m) =>
      m.iam.on(SimulatePrincipalPolicyCommand).callsFake((input) => reversed(account, input)),
    );
    // Assess: both rules in one request, and the denial is the twin's, not web's.
    expect(
      requests.some((r) => r.ResourceArns?.includes(LISTENER_RULE_ARN) && r.ResourceArns.includes(TWIN_RULE)),
    ).toBe(true);
    expect(iamFindings(services, 'web')).toEqual([expect.objectContaining({ status: 'ok' })]);
    expect(iamFindings(services, 'web-twin')).toEqual([
      expect.objectContaining({
        status: 'error',
        message: expect.stringContaining(`may not call elasticloadbalancing:ModifyRule on ${TWIN_RULE}`),
      }),
    ]);
  });
});

/**
 * The account's answer in pages of one evaluation result: IsTruncated and a Marker while more remain, the next
 * page for the request with that Marker (IAM API reference, SimulatePrincipalPolicy: MaxItems, Marker,
 * IsTruncated).
 */
function paged(account: AccountFixture, input: SimulatePrincipalPolicyCommandInput) {
  const all = simulated(account, { ...input, Marker: undefined }).EvaluationResults ?? [];
  const page = input.Marker ? Number(input.Marker.slice('page-'.length)) : 0;
  const more = page + 1 < all.length;
  return {
    EvaluationResults: all.slice(page, page + 1),
    IsTruncated: more,
    ...(more ? { Marker: `page-${page + 1}` } : {}),
  };
}

/** The account's answer with each result's per-resource results in reverse order of the request's resources. */
function reversed(account: AccountFixture, input: SimulatePrincipalPolicyCommandInput) {
  const out = simulated(account, input);
  return {
    ...out,
    EvaluationResults: (out.EvaluationResults ?? []).map((r) => ({
      ...r,
      ...(r.ResourceSpecificResults
        ? { ResourceSpecificResults: [...r.ResourceSpecificResults].reverse() }
        : {}),
    })),
  };
}
