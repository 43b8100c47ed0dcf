/**
 * `canary check` and hook functions granted by tag: past HOOK_ARNS_LISTED hook functions, the stack lets run-hook
 * invoke a function of the configs' regions and accounts only when it carries `canary-controller` = the controller's
 * id (infra/hook-permissions.ts). IAM policy simulation does not read tags, so the check reads each function's
 * (Lambda ListTags) and passes it as the aws:ResourceTag context key; a function without the tag is named, with the
 * command that tags it. The simulation here evaluates the policy the stack builds for 43 hook functions.
 */

import { ListTagsCommand } from '@aws-sdk/client-lambda';
import { App, Stack } from 'aws-cdk-lib';
import type * as iam from 'aws-cdk-lib/aws-iam';
import { afterEach, describe, expect, it } from 'vitest';
import type { Finding } from '../../cli/check/findings';
import { FUNCTION_NEEDS } from '../../cli/check/permissions';
import { main } from '../../cli/main';
import { parseServiceConfig, type ServiceConfigInput } from '../../functions/core/config';
import type { ControllerFunction } from '../../infra/controller-function';
import type { Grants } from '../../infra/grants';
import { hookStatements } from '../../infra/hook-permissions';
import { checkedConfig, cleanAccount, controllerRoles, mockAccount, roleArn } from '../helpers/check-account';
import { ACCOUNT, REGION } from '../helpers/config';
import { generatedServices } from '../infra/generated-services';
import { resolve, type Statement } from '../infra/policy-evaluator';

const TAG = 'Platform';
const fn = (name: string, region = REGION) => `arn:aws:lambda:${region}:${ACCOUNT}:function:${name}`;
const LOAD = `${fn('web-load', 'eu-west-1')}:live`;

/** web's hooks: smoke tagged for this controller, e2e untagged, load (another region, an alias) another's. */
const web = (): ServiceConfigInput => ({
  ...checkedConfig(),
  hooks: {
    beforeTraffic: [
      { name: 'smoke', lambda: 'web-smoke' },
      { name: 'e2e', lambda: 'web-e2e' },
    ],
    afterPromotion: [{ name: 'load', lambda: LOAD }],
  },
});

/** run-hook's statements as the stack grants them for these configs, resolved as IAM reads them. */
function runHookPolicy(configs: ServiceConfigInput[]): Statement[] {
  const stack = new Stack(new App(), 'Platform', { env: { account: ACCOUNT, region: REGION } });
  const statements: Statement[] = [];
  const grants = {
    allow: (_fn: unknown, s: iam.PolicyStatement) =>
      statements.push(resolve(stack.resolve(s.toStatementJson()), { 'AWS::Partition': 'aws' }) as Statement),
  } as unknown as Grants;
  hookStatements(
    stack,
    grants,
    {} as ControllerFunction,
    configs.map((c) => parseServiceConfig(c)),
    TAG,
  );
  return statements;
}

function account() {
  const a = cleanAccount();
  a.functions.push(
    { FunctionName: 'web-smoke', FunctionArn: fn('web-smoke'), State: 'Active' },
    { FunctionName: 'web-e2e', FunctionArn: fn('web-e2e'), State: 'Active' },
    { FunctionName: 'web-load', FunctionArn: fn('web-load', 'eu-west-1'), State: 'Active' },
  );
  a.functionTags[fn('web-smoke')] = { 'canary-controller': TAG, team: 'web' };
  a.functionTags[fn('web-load', 'eu-west-1')] = { 'canary-controller': 'Other' };
  a.policies[roleArn('run-hook')] = [
    ...runHookPolicy([web(), ...generatedServices(40)]),
    // run-hook's other calls (it also routes the header rule, reads the service), not under test here.
    {
      Effect: 'Allow',
      Action: ['elasticloadbalancing:*', 'ecs:*', 'iam:PassRole', 'cloudwatch:*'],
      Resource: '*',
    },
  ];
  return a;
}

let mocks: ReturnType<typeof mockAccount> | undefined;
afterEach(() => {
  mocks?.restore();
  mocks = undefined;
});

async function check(a: ReturnType<typeof cleanAccount>, prepare: (m: typeof mocks) => void = () => {}) {
  mocks = mockAccount(a);
  prepare(mocks);
  const out: string[] = [];
  const code = await main(['check', '--json'], {
    stdout: (s: string) => out.push(s),
    stderr: () => undefined,
    env: {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      SERVICES_JSON: JSON.stringify([web()]),
      CONTROLLER_ROLES: controllerRoles(Object.keys(FUNCTION_NEEDS)),
      CONTROLLER_TAG: TAG,
    },
    cwd: process.cwd(),
  });
  const body = JSON.parse(out.join('')) as { services: { findings: Finding[] }[] };
  const findings = (body.services[0]?.findings ?? []).filter(
    (f) => (f.check === 'iam' || f.check === 'hooks') && f.status !== 'ok',
  );
  return { code, findings };
}

describe('canary check: hook functions the stack grants by tag', () => {
  it('simulates run-hook with each function’s tag, and names the function without this controller’s', async () => {
    // Prepare: the stack grants by tag (a condition on the statement), as it does past 40 functions.
    const a = account();
    expect(a.policies[roleArn('run-hook')]?.[0]?.Condition).toEqual({
      StringEquals: { 'aws:ResourceTag/canary-controller': TAG },
    });
    // Act
    const { code, findings } = await check(a);
    // Assess
    const tagIt = (arn: string) =>
      `tag it: aws lambda tag-resource --resource ${arn} --tags canary-controller=${TAG}`;
    expect(findings).toEqual([
      {
        check: 'iam',
        status: 'error',
        message: `hook function ${LOAD} is tagged canary-controller=Other, another controller's: this one (${TAG}) may not invoke it`,
        fix: tagIt(fn('web-load', 'eu-west-1')),
      },
      {
        check: 'iam',
        status: 'error',
        message: `hook function ${fn('web-e2e')} is not tagged canary-controller=${TAG}: the controller may not invoke it`,
        fix: tagIt(fn('web-e2e')),
      },
    ]);
    expect(code).toBe(1);
    // The tags are read from the function (not an alias), in its region.
    const listed = await Promise.all(
      (mocks?.lambda.calls() ?? [])
        .filter((c) => c.args[0] instanceof ListTagsCommand)
        .map(async (c) => [
          (c.args[0].input as { Resource: string }).Resource,
          await (c.thisValue as { config: { region: () => Promise<string> } }).config.region(),
        ]),
    );
    expect(listed.sort()).toEqual([
      [fn('web-load', 'eu-west-1'), 'eu-west-1'],
      [fn('web-e2e'), REGION],
      [fn('web-smoke'), REGION],
    ]);
    const smoke = (mocks?.iam.calls() ?? [])
      .map((c) => c.args[0].input as { ResourceArns?: string[]; ContextEntries?: unknown })
      .find((i) => i.ResourceArns?.includes(fn('web-smoke')));
    expect(smoke?.ContextEntries).toEqual([
      {
        ContextKeyName: 'aws:ResourceTag/canary-controller',
        ContextKeyValues: [TAG],
        ContextKeyType: 'string',
      },
    ]);
  });

  it('says the call could not be checked when the function’s tags cannot be read', async () => {
    const { findings } = await check(account(), (m) =>
      m?.lambda
        .on(ListTagsCommand)
        .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException', $fault: 'client' })),
    );
    expect(findings).toContainEqual({
      check: 'iam',
      status: 'not-checked',
      message: `run-hook's lambda:InvokeFunction on hook function ${fn('web-smoke')} was not checked: the controller invokes it only when tagged canary-controller=${TAG}, and its tags could not be read (lambda:ListTags was denied to you)`,
      fix: 'run the check with credentials that may call lambda:ListTags on the hook functions',
    });
  });
});
