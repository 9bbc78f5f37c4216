import { configDefaults, defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.js';

// `*.case.test.ts` files hold shared conformance suites that other test files run; they are not run alone.
export default defineConfig({
  ...sharedTestConfig,
  test: { ...sharedTestConfig.test, exclude: [...configDefaults.exclude, 'src/**/*.case.test.ts'] },
});
