/**
 * ServiceCatalog over the service configs bundled at deploy time (SERVICES_JSON), validated once per cold start
 * by the handlers' environment (handlers/env.ts serviceConfigs): a bad bundle fails the cold start with every
 * wrong field named.
 */
import type { ServiceConfig } from '../../core/config';
import type { ServiceCatalog } from '../../ports';

export class StaticServiceCatalog implements ServiceCatalog {
  private readonly byServiceName: ReadonlyMap<string, ServiceConfig>;
  private readonly byRepositoryName: ReadonlyMap<string, ServiceConfig>;

  /** `services` as parseServiceConfigs returns them: valid, names and repositories unique. */
  constructor(services: readonly ServiceConfig[]) {
    this.byServiceName = new Map(services.map((c) => [c.service, c]));
    this.byRepositoryName = new Map(services.map((c) => [c.repository, c]));
  }

  async byRepository(repository: string): Promise<ServiceConfig | undefined> {
    return this.byRepositoryName.get(repository);
  }

  async byName(service: string): Promise<ServiceConfig | undefined> {
    return this.byServiceName.get(service);
  }
}
