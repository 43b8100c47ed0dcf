/**
 * The hook functions the controller may invoke, resolved at synth: a name in the stack's own account and region
 * (tokens when the stack's environment is not set), an ARN of another region as configured (the controller invokes
 * it with a client of that region: functions/adapters/aws/hooks.ts).
 */
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { parseServiceConfig } from '../../functions/core/config';
import { hookFunctionArns } from '../../functions/core/hook-functions';
import { validServiceConfig } from '../helpers/config';

describe('hookFunctionArns in a stack', () => {
  it("grants a name in the stack's region (a token when not set) and another region's ARN as it is", () => {
    // Prepare: a stack without an environment, its region unknown until deployed.
    const stack = new Stack(new App(), 'Anywhere');
    const elsewhere = 'arn:aws:lambda:eu-west-1:123456789012:function:web-e2e:live';
    const config = parseServiceConfig(
      validServiceConfig({
        hooks: {
          beforeTraffic: [{ name: 'smoke', lambda: 'web-smoke' }],
          afterPromotion: [{ name: 'e2e', lambda: elsewhere }],
        },
      }),
    );
    // Act
    const home = { partition: stack.partition, region: stack.region, account: stack.account };
    const arns = hookFunctionArns([config], home).map((a) => stack.resolve(a));
    // Assess
    expect(arns).toContainEqual(elsewhere);
    expect(arns).toContainEqual({
      'Fn::Join': [
        '',
        [
          'arn:',
          { Ref: 'AWS::Partition' },
          ':lambda:',
          { Ref: 'AWS::Region' },
          ':',
          { Ref: 'AWS::AccountId' },
          ':function:web-smoke',
        ],
      ],
    });
  });
});
