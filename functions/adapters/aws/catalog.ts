/**
 * ServiceCatalog over configs held in memory, validated by the caller (parseServiceConfigs): the sandbox's catalog
 * and the tests' double. Deployed functions read the config table instead (config-catalog.ts).
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
