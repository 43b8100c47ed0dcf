/** Lambda: an ECR push or a Deploy Requested event starts (or supersedes, or refuses) a rollout. */
import { makeStartRollout } from '../tasks/start-rollout';
import { announcing, executions, realClock, store, verdictFreeNotifiers } from './aws';
import { catalog } from './catalog';
import { log, withObservability } from './observability';

export const handler = withObservability(
  makeStartRollout({
    catalog: catalog(),
    store: store(),
    executions: executions(),
    notifiers: verdictFreeNotifiers(),
    clock: realClock,
    ...announcing(),
    log,
  }),
  'start-rollout',
);
