// Vitest configuration: tests live in test/, mirroring the source folders.
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts', 'test/runtime-web/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on CI: keep heavy suites (data loading, TF.js) from fighting each other.
    maxWorkers: 2,
  },
});
