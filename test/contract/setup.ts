/**
 * Vitest setup for every test file: after each test, every AWS request sent through a mock of test/contract/mock.ts
 * is checked against the service's API model (test/contract/model.ts); a rejected request fails that test.
 */
import { afterEach } from 'vitest';
import { checkMockedRequests } from './registry';

afterEach(checkMockedRequests);
