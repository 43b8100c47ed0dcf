/**
 * Every workflow task checks its input at the boundary: a malformed one is refused with InputInvalid and nothing is sent.
 * Through the real handler and adapters with mocked SDK clients (requests checked against AWS's API models).
 */

import { describe, expect, it } from 'vitest';
import { context, handlerOf, installAwsMockHooks, timeline } from '../helpers/aws-mocks';

installAwsMockHooks();

describe('workflow tasks', () => {
  it.each([
    'prepare',
    'set-weight',
    'check-ready',
    'bake',
    'analyze',
    'request-approval',
    'promote',
    'rollback',
    'notify',
  ])('%s rejects a malformed input with InputInvalid and sends nothing', async (name) => {
    const handler = await handlerOf(name);
    await expect(handler({ rollout: { rolloutId: 42 } }, context)).rejects.toMatchObject({
      name: 'InputInvalid',
    });
    expect(timeline()).toEqual([]);
  });
});
