/** Lambda: a CloudWatch alarm going to ALARM stops the rollouts it gates, traffic first. */
import { makeOnAlarm } from '../tasks/on-alarm';
import { rollbackPorts } from './aws';
import { log, withObservability } from './observability';

export const handler = withObservability(makeOnAlarm({ ...rollbackPorts(), log }), 'on-alarm');
