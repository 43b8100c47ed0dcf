/** Where test/contract/mock.ts keeps its mocks: on globalThis, so a module reset does not lose them. */
export const REGISTRY_KEY = Symbol.for('canary-controller.contract.registry');

/**
 * What runs after each test (setup.ts): every request not yet checked, of every mock, against its model. A file
 * that made no mock loads nothing.
 */
export async function checkMockedRequests(): Promise<void> {
  if (!(globalThis as Record<symbol, unknown>)[REGISTRY_KEY]) return;
  const { verifyContracts } = await import('./mock');
  verifyContracts();
}
