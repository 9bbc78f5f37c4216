import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// `*.case.test.ts` files are conformance suites that other test files run against each implementation.
export default defineConfig({
  ...sharedTestConfig,
  test: { ...sharedTestConfig.test, exclude: ['**/node_modules/**', 'src/**/*.case.test.ts'] },
});
