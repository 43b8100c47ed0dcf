import { describe, expect, it } from 'vitest';
import { unsupportedNode } from '../../sandbox/node-version';

describe('sandbox Node version', () => {
  it('refuses a Node older than 22, on which every task would fail inside the engine, and names the way out', () => {
    expect(unsupportedNode('v20.20.2')).toBe(
      'the sandbox needs Node 22 or later, this is v20.20.2: run it with `npm start`, which uses the Node that ' +
        '`npm install` brought (node_modules/.bin/node)',
    );
    expect(unsupportedNode('v22.12.0')).toBeUndefined();
    expect(unsupportedNode('v24.1.0')).toBeUndefined();
    expect(unsupportedNode('not a version')).toMatch(/^the sandbox needs Node 22 or later/);
  });
});
