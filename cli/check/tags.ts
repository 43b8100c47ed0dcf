/** The controller's tag on what rollouts change, as `canary check` reads it (DescribeTags, DescribeServices, ListRoleTags). */
import { DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListRoleTagsCommand } from '@aws-sdk/client-iam';
import { albTraffic, type ServiceConfig } from '../../functions/core/config';
import { CONTROLLER_TAG_KEY } from '../../functions/tasks/registry';
import { error, type Finding, notChecked, ok } from './findings';
import type { CallFacts } from './permissions';
import type { CheckClients, Reader } from './reader';
import type { EcsAccount } from './resources';
import { routeTaggedResources } from './route';

/**
 * The resources rollouts change, with their controller tag: the listener and route rule (DescribeTags), the ECS
 * services (DescribeServices with TAGS), the stable task definition (its tags are copied to the canary's) and the
 * roles it passes (ListRoleTags).
 */
export async function taggedResources(
  readCall: Reader['read'],
  clients: CheckClients,
  config: ServiceConfig,
  ecs: EcsAccount,
  facts: CallFacts,
): Promise<TaggedResource[]> {
  const t = albTraffic(config.traffic);
  const elbArns = [t.listenerArn, ...(t.ruleArn ? [t.ruleArn] : [])];
  const elbTags = await readCall('elasticloadbalancing:DescribeTags', elbArns.join(', '), async () => {
    const out = await clients.elbv2.send(new DescribeTagsCommand({ ResourceArns: elbArns }));
    return Object.fromEntries((out.TagDescriptions ?? []).map((d) => [d.ResourceArn ?? '', d.Tags ?? []]));
  });
  const controllerTagOf = (tags: { key?: string; value?: string }[] | undefined) =>
    tags?.find((x) => x.key === CONTROLLER_TAG_KEY)?.value;
  const ecsTag = (arn: string) =>
    `aws ecs tag-resource --resource-arn ${arn} --tags key=${CONTROLLER_TAG_KEY},value=`;
  const services = 'found' in ecs.services ? ecs.services.found.services : [];
  const td = ecs.taskDefinition && 'found' in ecs.taskDefinition ? ecs.taskDefinition.found : undefined;
  const roles = await Promise.all(
    facts.passRoles.map(async (arn) => {
      const name = arn.slice(arn.lastIndexOf('/') + 1);
      const read = await readCall('iam:ListRoleTags', arn, async () => {
        const out = await clients.iam.send(new ListRoleTagsCommand({ RoleName: name }));
        return out.Tags ?? [];
      });
      return {
        what: 'role',
        arn,
        value: 'found' in read ? read.found.find((x) => x.Key === CONTROLLER_TAG_KEY)?.Value : null,
        tagWith: (key: string, value: string) =>
          `aws iam tag-role --role-name ${name} --tags Key=${key},Value=${value}`,
      } satisfies TaggedResource;
    }),
  );
  return [
    ...routeTaggedResources(t, elbTags),
    ...services.flatMap((s) =>
      s.serviceArn
        ? [
            {
              what: 'ECS service',
              arn: s.serviceArn,
              value: controllerTagOf(s.tags),
              tagWith: (_key: string, value: string) => `${ecsTag(s.serviceArn as string)}${value}`,
            },
          ]
        : [],
    ),
    ...(td?.taskDefinition.taskDefinitionArn
      ? [
          {
            what: 'task definition',
            arn: td.taskDefinition.taskDefinitionArn,
            value: controllerTagOf(td.tags),
            tagWith: (_key: string, value: string) =>
              `${ecsTag(td.taskDefinition.taskDefinitionArn as string)}${value}`,
          },
        ]
      : []),
    ...roles,
  ];
}

/**
 * A resource a service's rollouts change, which must carry the controller's tag: what it is, its ARN, the value of
 * its tag (undefined: none; null: its tags could not be read) and the command that tags it.
 */
export interface TaggedResource {
  what: string;
  arn: string;
  value: string | undefined | null;
  tagWith: (key: string, value: string) => string;
}

/** One finding per resource without `canary-controller` = this controller's id, or one saying all have it. */
export function controllerTagFindings(
  controllerTag: string,
  resources: readonly TaggedResource[],
): Finding[] {
  const check = 'tags';
  const findings: Finding[] = [];
  for (const r of resources) {
    if (r.value === controllerTag) continue;
    if (r.value === null) {
      findings.push(
        notChecked(
          check,
          `the tags of ${r.what} ${r.arn} could not be read`,
          'run the check with credentials that may read them',
        ),
      );
      continue;
    }
    findings.push(
      error(
        check,
        r.value === undefined
          ? `${r.what} ${r.arn} has no ${CONTROLLER_TAG_KEY} tag: the controller may not change it`
          : `${r.what} ${r.arn} is tagged ${CONTROLLER_TAG_KEY} = ${r.value}, another controller's: this one (${controllerTag}) may not change it`,
        `tag it: ${r.tagWith(CONTROLLER_TAG_KEY, controllerTag)}`,
      ),
    );
  }
  if (findings.length === 0)
    findings.push(ok(check, `${resources.length} resources tagged ${CONTROLLER_TAG_KEY} = ${controllerTag}`));
  return findings;
}
