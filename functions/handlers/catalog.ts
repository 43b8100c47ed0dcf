/**
 * The service catalog of the handlers that read service configs (start-rollout, reconcile), apart from aws.ts:
 * reading it checks each config's seal (the deploy validated and sealed it; adapters/aws/config-catalog.ts).
 */
import { DynamoServiceCatalog } from '../adapters/aws/config-catalog';
import type { ServiceCatalog } from '../ports';
import { documentClient, lazy } from './aws';
import * as env from './env';

/** The service configs the deploy wrote to CONFIG_TABLE_NAME, each read on first use and cached for 60 s. */
export const catalog = /* @__PURE__ */ lazy(
  (): ServiceCatalog => new DynamoServiceCatalog(documentClient(), env.configTableName()),
);
