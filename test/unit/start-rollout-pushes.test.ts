import { describe, expect, it } from 'vitest';
import { makeStartRollout } from '../../functions/tasks/start-rollout';
import { validParsedConfig } from '../helpers/config';
import { loadEvent } from '../helpers/fixtures';

/** Every dependency but the catalog and the log fails the test if touched: an ignored push changes nothing. */
function startRollout() {
  const logs: { level: string; message: string; extra?: Record<string, unknown> }[] = [];
  const untouchable = new Proxy(
    {},
    {
      get: (_t, name) => () => {
        throw new Error(`unexpected call: ${String(name)}`);
      },
    },
  );
  const handler = makeStartRollout({
    catalog: { byRepository: async () => validParsedConfig(), byName: async () => validParsedConfig() },
    store: untouchable as never,
    executions: untouchable as never,
    notifiers: [],
    clock: untouchable as never,
    log: {
      info: (message, extra) => logs.push({ level: 'info', message, ...(extra ? { extra } : {}) }),
      warn: (message, extra) => logs.push({ level: 'warn', message, ...(extra ? { extra } : {}) }),
      error: (message, extra) => logs.push({ level: 'error', message, ...(extra ? { extra } : {}) }),
    },
  });
  return { handler, logs };
}

describe('start-rollout and the pushes ECR sends for every manifest', () => {
  it('ignores an untagged platform image and says so in the log', async () => {
    const { handler, logs } = startRollout();

    const result = await handler(loadEvent('ecr/push-untagged'), {} as never);

    expect(result).toEqual({
      status: 'ignored',
      reason: "the push has no tag: ignored (the service's pushes setting is tagged-images)",
    });
    expect(logs).toEqual([
      {
        level: 'info',
        message: 'ignored an ECR push',
        extra: {
          service: 'web',
          digest: loadEvent('ecr/push-untagged').detail['image-digest'],
          reason: "the push has no tag: ignored (the service's pushes setting is tagged-images)",
        },
      },
    ]);
  });
});
