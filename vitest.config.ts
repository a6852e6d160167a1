import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    teardownTimeout: 120_000,
    projects: [
      {
        extends: true,
        // Property tests and the 1,000-restart simulation take seconds each on 2 busy cores.
        test: { name: 'unit', include: ['test/unit/**/*.test.ts'], pool: 'threads', testTimeout: 90_000 },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['test/e2e/**/*.test.ts'],
          pool: 'forks',
          maxWorkers: 1,
          fileParallelism: false,
          testTimeout: 120_000,
          hookTimeout: 300_000,
          globalSetup: ['test/e2e/control-plane.setup.ts'],
        },
      },
    ],
  },
});
