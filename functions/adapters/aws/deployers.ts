/**
 * The deployer registry: one entry per `deployer.kind`. An unknown kind is a config error, never a fallback.
 */
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ServiceConfig } from '../../core/config';
import { ConfigInvalidError } from '../../core/errors';
import type { Deployer, DeployerFor } from '../../ports';
import { EcsDeployer } from './ecs';
import { NoDeployer } from './none';
import type { AdapterOptions } from './sdk';

export function makeDeployerFor(
  clients: { ecs: ECSClient; elbv2: ElasticLoadBalancingV2Client },
  options: AdapterOptions = {},
): DeployerFor {
  const registry: Record<string, () => Deployer> = {
    ecs: once(() => new EcsDeployer(clients.ecs, clients.elbv2, options)),
    none: once(() => new NoDeployer(clients.elbv2, options)),
  };
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
