/**
 * The Elastic Load Balancing statements: reading listeners, rules and target groups, changing a route tagged for this
 * controller, and creating, changing and deleting its header rule (Service Authorization Reference, "Actions,
 * resources, and condition keys for AWS Elastic Load Balancing V2").
 */
import * as iam from 'aws-cdk-lib/aws-iam';
import { HEADER_RULE_TAG } from '../functions/core/route-checks';
import { CONTROLLER_TAG_KEY } from '../functions/tasks/registry';
import type { ControllerFunction } from './controller-function';
import type { Grants } from './grants';
import type { ServiceScope } from './service-permissions';

/** Read listeners, rules and target groups (and the rules' tags). */
export function describeElb(grants: Grants, fn: ControllerFunction) {
  grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'ElbDescribe',
      actions: [
        'elasticloadbalancing:DescribeListeners',
        'elasticloadbalancing:DescribeRules',
        'elasticloadbalancing:DescribeTargetGroups',
        'elasticloadbalancing:DescribeTargetHealth',
        'elasticloadbalancing:DescribeTargetGroupAttributes',
        'elasticloadbalancing:DescribeTags',
      ],
      resources: ['*'],
    }),
    'elasticloadbalancing:Describe* actions have no resource-level permissions (IAM requires "*").',
  );
}

/** Change the weights of a route (listener or rule) tagged for this controller, and its header rule. */
export function routeStatements(scope: ServiceScope, fn: ControllerFunction) {
  describeElb(scope.grants, fn);
  const elb = (resource: string) => scope.elbPrefixes.map((p) => `${p}${resource}`);
  const listeners = elb('listener/app/*');
  const rules = elb('listener-rule/app/*');
  const taggedReason =
    'Any listener or rule of the configured regions and accounts, but only one tagged ' +
    `${CONTROLLER_TAG_KEY} = this controller's id (aws:ResourceTag condition): the policy stays one size for any ` +
    'number of services.';
  scope.grants.allow(
    fn,
    // ModifyListener (listener) and ModifyRule (listener-rule): resource types with aws:ResourceTag/${TagKey}. The
    // route rule (traffic.ruleArn) carries the controller's tag like the listener.
    new iam.PolicyStatement({
      sid: 'RouteChange',
      actions: [
        'elasticloadbalancing:ModifyListener',
        'elasticloadbalancing:ModifyRule',
        'elasticloadbalancing:CreateRule',
      ],
      resources: [...listeners, ...rules],
      conditions: scope.tagged,
    }),
    taggedReason,
  );
  headerRuleStatements(scope, fn, rules);
}

/**
 * The header rule: created with its route's tag and the controller's (aws:RequestTag), changed or deleted only while
 * it carries both (aws:ResourceTag), so never another controller's.
 */
function headerRuleStatements(scope: ServiceScope, fn: ControllerFunction, rules: string[]) {
  const headerReason =
    `The header rule is created at run time, so its ARN is unknown: only rules tagged ${HEADER_RULE_TAG} and ` +
    `${CONTROLLER_TAG_KEY} = this controller's id when created (aws:RequestTag), changed or deleted only while ` +
    "they carry both (aws:ResourceTag): never another controller's header rule.";
  scope.grants.allow(
    fn,
    // CreateRule is authorized on the listener (tagged, above) and on the rule it creates, which exists only with
    // the tags of the request (aws:RequestTag).
    new iam.PolicyStatement({
      sid: 'HeaderRuleCreate',
      actions: ['elasticloadbalancing:CreateRule'],
      resources: rules,
      conditions: {
        StringEquals: scope.requestTagged.StringEquals,
        Null: { [`aws:RequestTag/${HEADER_RULE_TAG}`]: 'false' },
      },
    }),
    headerReason,
  );
  scope.grants.allow(
    fn,
    // Tagging on create is authorized as AddTags with elasticloadbalancing:CreateAction, a key set only on that
    // authorization ("ELB API permissions to tag resources during creation", Elastic Load Balancing User Guide):
    // AddTags on an existing rule stays refused.
    new iam.PolicyStatement({
      sid: 'HeaderRuleTagOnCreate',
      actions: ['elasticloadbalancing:AddTags'],
      resources: rules,
      conditions: {
        StringEquals: {
          'elasticloadbalancing:CreateAction': 'CreateRule',
          ...scope.requestTagged.StringEquals,
        },
        Null: { [`aws:RequestTag/${HEADER_RULE_TAG}`]: 'false' },
      },
    }),
    headerReason,
  );
  scope.grants.allow(
    fn,
    new iam.PolicyStatement({
      sid: 'HeaderRuleChange',
      actions: [
        'elasticloadbalancing:ModifyRule',
        'elasticloadbalancing:DeleteRule',
        'elasticloadbalancing:SetRulePriorities',
      ],
      resources: rules,
      conditions: {
        ...scope.tagged,
        Null: { [`aws:ResourceTag/${HEADER_RULE_TAG}`]: 'false' },
      },
    }),
    headerReason,
  );
}
