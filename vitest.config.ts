import { defineConfig } from 'vitest/config';

// AsyncLocalStorage on async context frames (Node 24's default): on async hooks, every promise pays for every
// store ever entered, and the fault campaign enters one per schedule (a third of its CPU, growing with the run).
const asyncContextFrame = '--experimental-async-context-frame';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Every request sent through the SDK mocks is checked against AWS's API model after each test.
    setupFiles: ['test/contract/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
    execArgv: process.allowedNodeEnvironmentFlags.has(asyncContextFrame) ? [asyncContextFrame] : [],
  },
});
