// Vitest configuration: tests live in test/, mirroring the source folders. The workspace packages resolve to their
// sources (as tsconfig.json's "paths" say), so the tests see every edit without a build.
import { fileURLToPath } from 'node:url';
import { configDefaults, defineConfig, mergeConfig, type ViteUserConfig } from 'vitest/config';

const source = (file: string) => fileURLToPath(new URL(file, import.meta.url));

// What both projects share. Not through `extends: true`: a project would then inherit maxWorkers from this file,
// and a project's own maxWorkers wins over the command line's --maxWorkers.
const shared: ViteUserConfig = {
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
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // Suites that load onnxruntime-node themselves (parity checks) would otherwise leave its telemetry's
    // /tmp/mat-debug-<pid>.log behind; the telemetry tests set the variable for the processes they start.
    env: { ORT_DISABLE_TELEMETRY: '1' },
  },
};

export default defineConfig({
  test: {
    // Two cores on CI: keep heavy suites (data loading, TF.js) from fighting each other.
    maxWorkers: 2,
    // A project's global setup runs only when some of its tests do: the web build only for the browser tests.
    projects: [
      mergeConfig(shared, { test: { name: 'node', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, 'test/runtime-web/**'], globalSetup: ['test/global-setup.ts'] } }),
      mergeConfig(shared, { test: { name: 'web', include: ['test/runtime-web/**/*.test.ts'], globalSetup: ['test/runtime-web/global-setup.ts'] } }),
    ],
  },
});
