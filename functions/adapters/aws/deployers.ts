/**
 * The deployer registry: one entry per `deployer.kind`. An unknown kind is a config error, never a fallback.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceConfig } from '../../core/config';
import { ConfigInvalidError } from '../../core/errors';
import type { Deployer, DeployerFor, RollbackDeployer, RollbackDeployerFor } from '../../ports';
import { EcsDeployer, EcsRollback } from './ecs';
import { NoDeployer, NoRollback } from './none';
import type { AdapterOptions } from './sdk';

export function makeDeployerFor(
  clients: { ecs: ECSClient; elbv2: ElasticLoadBalancingV2Client },
  options: AdapterOptions = {},
): DeployerFor {
  return byKind<Deployer>({
    ecs: once(() => new EcsDeployer(clients.ecs, clients.elbv2, options)),
    none: once(() => new NoDeployer(clients.elbv2, options)),
  });
}

/** The same registry, each deployer only as far as a rollback uses it (its bundle leaves the rest out). */
export function makeRollbackDeployerFor(
  clients: { ecs: ECSClient },
  options: AdapterOptions = {},
): RollbackDeployerFor {
  return byKind<RollbackDeployer>({
    ecs: once(() => new EcsRollback(clients.ecs, options)),
    none: once(() => new NoRollback()),
  });
}

function byKind<D>(registry: Record<string, () => D>): (config: ServiceConfig) => D {
  return (config: ServiceConfig) => {
    const kind: string = config.deployer.kind;
    const make = Object.hasOwn(registry, kind) ? registry[kind] : undefined;
    if (!make) {
      throw new ConfigInvalidError(`service config for ${config.service}`, [
        {
          path: 'deployer.kind',
          message: `unknown deployer kind "${kind}": expected ${Object.keys(registry)
            .map((k) => `"${k}"`)
            .join(' or ')}`,
        },
      ]);
    }
    return make();
  };
}

function once<T>(make: () => T): () => T {
  let made: T | undefined;
  return () => {
    made ??= make();
    return made;
  };
}
