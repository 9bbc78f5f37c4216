// One test configuration for every package; each package's vitest.config.ts reuses it.
/** @type {import('vitest/config').UserConfig} */
export const sharedTestConfig = {
  test: {
    include: ['src/**/*.test.ts', 'test/**/*.test.ts'],
    // `*.case.test.ts` files hold conformance suites that other test files run against each
    // implementation of one interface; they are not run alone.
    exclude: ['**/node_modules/**', '**/dist/**', '**/*.case.test.ts'],
    // Tests run real processes, sockets and the real ONNX model: allow them time, and run files
    // one after another so two model-loading suites never fight over the machine's two cores.
    testTimeout: 120_000,
    hookTimeout: 300_000,
    fileParallelism: false,
  },
};
