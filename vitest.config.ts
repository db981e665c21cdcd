// Vitest configuration: tests live in test/, mirroring the source folders. The workspace packages resolve to their
// sources (as tsconfig.json's "paths" say), so the tests see every edit without a build.
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

export default defineConfig({
  resolve: {
    alias: [
      { find: /^onnx-denoiser-common$/, replacement: source('./runtime-common/index.ts') },
      { find: /^onnx-denoiser-common\/onnx-model$/, replacement: source('./runtime-common/onnx-model.ts') },
      { find: /^onnx-denoiser-node$/, replacement: source('./runtime-node/index.ts') },
      { find: /^onnx-denoiser-node\/internal$/, replacement: source('./runtime-node/internal.ts') },
      { find: /^onnx-denoiser-web$/, replacement: source('./runtime-web/index.ts') },
    ],
  },
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts', 'test/runtime-web/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Two cores on CI: keep heavy suites (data loading, TF.js) from fighting each other.
    maxWorkers: 2,
  },
});
