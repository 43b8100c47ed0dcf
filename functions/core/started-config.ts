import type { ServiceConfig } from './config';

/**
 * The defaults of the config fields added since rollouts first carried their config, filled into a config an
 * execution carries: an execution started by an earlier release carries its config as that release validated it,
 * without them. Written out here rather than taken from the config schemas, so the handlers that read rollout
 * documents bundle no config schema; test/unit/started-config.test.ts checks they match the schemas' defaults.
 */
export function withAddedDefaults(config: ServiceConfig): ServiceConfig {
  const analysis = config.analysis ?? ({} as Partial<ServiceConfig['analysis']>);
  const ecs = analysis.ecsMetrics ?? ({} as Partial<ServiceConfig['analysis']['ecsMetrics']>);
  return {
    ...config,
    strategy: config.strategy ?? 'canary',
    traffic: { ...config.traffic, kind: config.traffic.kind ?? 'alb' } as ServiceConfig['traffic'],
    analysis: {
      ...analysis,
      metrics: analysis.metrics ?? [],
      ecsMetrics: {
        ...ecs,
        enabled: ecs.enabled ?? true,
        critical: ecs.critical ?? false,
        tolerance: ecs.tolerance ?? 0.5,
      },
      onFailure: analysis.onFailure ?? 'rollback',
      pauseTimeoutSeconds: analysis.pauseTimeoutSeconds ?? 14_400,
    } as ServiceConfig['analysis'],
  };
}
