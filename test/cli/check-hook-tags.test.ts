/**
 * `canary check` and hook functions granted by tag: past HOOK_ARNS_LISTED hook functions, the stack lets run-hook
 * invoke a function of the configs' regions and accounts only when it carries `canary-controller` = the controller's
 * id (infra/hook-permissions.ts). IAM policy simulation does not read tags, so the check reads each function's
 * (Lambda ListTags) and passes it as the aws:ResourceTag context key; a function without the tag is named, with the
 * command that tags it. The simulation here evaluates the policy the stack builds for 43 hook functions.
 */

import { GetFunctionConfigurationCommand, ListTagsCommand } from '@aws-sdk/client-lambda';
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
    ...runHookPolicy(stackConfigs()),
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

/** The stack's configs: web's hooks and 40 generated services' functions, so it grants by tag. */
const stackConfigs = (): ServiceConfigInput[] => [web(), ...generatedServices(40)];

/** `canary check web`, the stack's configs in SERVICES_JSON (by default web's and 40 more: granted by tag). */
async function check(
  a: ReturnType<typeof cleanAccount>,
  prepare: (m: typeof mocks) => void = () => {},
  configs: ServiceConfigInput[] = stackConfigs(),
) {
  mocks = mockAccount(a);
  prepare(mocks);
  const out: string[] = [];
  const code = await main(['check', 'web', '--json'], {
    stdout: (s: string) => out.push(s),
    stderr: () => undefined,
    env: {
      AWS_REGION: REGION,
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'secret',
      SERVICES_JSON: JSON.stringify(configs),
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

  it('reads the tags of a function whose configuration the check may not read, and judges its invoke by them', async () => {
    // Prepare: GetFunctionConfiguration is denied to the check; ListTags is not.
    const { findings } = await check(account(), (m) =>
      m?.lambda.on(GetFunctionConfigurationCommand).rejects(denied()),
    );
    // Assess: smoke carries this controller's tag: its invoke is allowed; e2e lacks it.
    const iamOf = (arn: string) => findings.filter((f) => f.check === 'iam' && f.message.includes(arn));
    expect(iamOf(fn('web-smoke'))).toEqual([]);
    expect(iamOf(fn('web-e2e'))).toEqual([
      expect.objectContaining({ status: 'error', message: expect.stringContaining('is not tagged') }),
    ]);
    expect(listedTags()).toEqual([fn('web-load', 'eu-west-1'), fn('web-e2e'), fn('web-smoke')]);
  });

  it('says each invoke could not be checked when neither the function nor its tags can be read', async () => {
    const { findings } = await check(account(), (m) => {
      m?.lambda.on(GetFunctionConfigurationCommand).rejects(denied());
      m?.lambda.on(ListTagsCommand).rejects(denied());
    });
    const iam = findings.filter((f) => f.check === 'iam');
    expect(iam.map((f) => [f.status, f.message.split(' was not checked')[0]])).toEqual(
      [LOAD, fn('web-e2e'), fn('web-smoke')].map((arn) => [
        'not-checked',
        `run-hook's lambda:InvokeFunction on hook function ${arn}`,
      ]),
    );
  });

  it('gives a function that does not exist no tag advice, and does not read its tags', async () => {
    // Prepare: web-e2e does not exist.
    const a = account();
    a.functions = a.functions.filter((f) => f.FunctionName !== 'web-e2e');
    // Act
    const { findings } = await check(a);
    // Assess: the hooks check names it; its invoke is not judged by a tag it cannot have.
    expect(findings).toContainEqual(
      expect.objectContaining({
        check: 'hooks',
        status: 'error',
        message: `hook e2e (hooks.beforeTraffic[1]): Lambda function web-e2e does not exist in ${REGION}`,
      }),
    );
    const e2e = findings.filter((f) => f.check === 'iam' && f.message.includes(fn('web-e2e')));
    expect(e2e).toEqual([
      {
        check: 'iam',
        status: 'not-checked',
        message: `run-hook's lambda:InvokeFunction on hook function ${fn('web-e2e')} was not checked: the controller invokes it only when tagged canary-controller=${TAG}, and Lambda function web-e2e does not exist in ${REGION}`,
        fix: `create the function (see the hooks finding) with the tag canary-controller=${TAG}`,
      },
    ]);
    expect(listedTags()).not.toContain(fn('web-e2e'));
  });

  it('does not advise retagging a function of another controller when the stack grants by ARN', async () => {
    // Prepare: 3 hook functions, listed by ARN; the deployed stack predates smoke (not granted), which carries
    // another controller's tag.
    const a = account();
    const deployed = {
      ...web(),
      hooks: { ...web().hooks, beforeTraffic: [{ name: 'e2e', lambda: 'web-e2e' }] },
    };
    a.policies[roleArn('run-hook')] = [
      ...runHookPolicy([deployed]),
      {
        Effect: 'Allow',
        Action: ['elasticloadbalancing:*', 'ecs:*', 'iam:PassRole', 'cloudwatch:*'],
        Resource: '*',
      },
    ];
    expect(a.policies[roleArn('run-hook')]?.[0]?.Condition).toBeUndefined();
    a.functionTags[fn('web-smoke')] = { 'canary-controller': 'Other' };
    // Act
    const { findings } = await check(a, undefined, [web()]);
    // Assess: the fix is deploying the stack (tagging would take the function from the other controller).
    expect(findings.filter((f) => f.check === 'iam')).toEqual([
      {
        check: 'iam',
        status: 'error',
        message: `run-hook may not call lambda:InvokeFunction on ${fn('web-smoke')} (implicitDeny)`,
        fix: "deploy the controller's stack with web's config (run-hook may invoke only the hook functions the configs name); a function of another account must also allow run-hook's role in its resource-based policy",
      },
    ]);
  });
});

const denied = () => Object.assign(new Error('denied'), { name: 'AccessDeniedException', $fault: 'client' });

/** The functions whose tags the check read (ListTags), sorted. */
const listedTags = () =>
  (mocks?.lambda.calls() ?? [])
    .filter((c) => c.args[0] instanceof ListTagsCommand)
    .map((c) => (c.args[0].input as { Resource: string }).Resource)
    .sort();
