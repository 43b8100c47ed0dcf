/**
 * The task definition family of an ECS deployer, apart from the config schemas (core/config-route.ts re-exports it)
 * so the ECS adapter bundles it without them.
 */

/** The family canary revisions are registered in: the configured one, else the stable service's name. */
export function taskDefinitionFamily(d: { stableService: string; taskDefinitionFamily?: string }): string {
  return d.taskDefinitionFamily ?? d.stableService.slice(d.stableService.lastIndexOf('/') + 1);
}
