/** Lambda (workflow task): check the route and deploy the canary at 0%. */
import { makePrepare } from '../tasks/prepare';
import { announcing, deployerFor, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makePrepare({
    router: router(),
    deployerFor: deployerFor(),
    store: store(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'prepare',
);
