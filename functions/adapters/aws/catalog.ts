/**
 * ServiceCatalog over the service configs bundled at deploy time, validated once per cold start with the same
 * schema as everywhere else: a bad bundle fails the cold start with every wrong field named.
 */
import { parseServiceConfigs, type ServiceConfig } from '../../core/config';
import { ConfigInvalidError } from '../../core/errors';
import type { ServiceCatalog } from '../../ports';

export class StaticServiceCatalog implements ServiceCatalog {
  readonly services: readonly ServiceConfig[];
  private readonly byServiceName: ReadonlyMap<string, ServiceConfig>;
  private readonly byRepositoryName: ReadonlyMap<string, ServiceConfig>;

  constructor(configs: unknown) {
    this.services = parseServiceConfigs(configs);
    this.byServiceName = new Map(this.services.map((c) => [c.service, c]));
    this.byRepositoryName = new Map(this.services.map((c) => [c.repository, c]));
  }

  /** From the JSON text of the bundle (an array of service configs). */
  static fromJson(text: string): StaticServiceCatalog {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (error) {
      throw new ConfigInvalidError('services', [
        { path: '', message: `not JSON: ${(error as Error).message}` },
      ]);
    }
    return new StaticServiceCatalog(parsed);
  }

  async byRepository(repository: string): Promise<ServiceConfig | undefined> {
    return this.byRepositoryName.get(repository);
  }

  async byName(service: string): Promise<ServiceConfig | undefined> {
    return this.byServiceName.get(service);
  }
}
