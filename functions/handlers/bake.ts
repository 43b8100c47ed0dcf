/** Lambda (workflow task, wait for task token): record the bake wait so alarms can interrupt it. */
import { makeBake } from '../tasks/bake';
import { realClock, store } from './aws';
import { withObservability } from './observability';

export const handler = withObservability(makeBake({ store: store(), clock: realClock }), 'bake');
