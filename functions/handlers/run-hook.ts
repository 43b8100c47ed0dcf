/** Lambda (workflow task): one call of a stage's hooks (a team's Lambda function or HTTPS endpoint). */
import { makeRunHook } from '../tasks/run-hook';
import { announcing, hookCaller, realClock, router, store } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeRunHook({
    store: store(),
    clock: realClock,
    router: router(),
    hooks: hookCaller(),
    log,
    ...announcing(),
  }),
  'run-hook',
);
