#!/usr/bin/env node
// Bundles the `denoise` command line with esbuild (run after tsc, by the build and by runtime-node's prepack): runtime-node/dist/cli.js and the threads' scripts (denoise-worker.js, session-thread.js) into runtime-node/dist/bundle/, shared code in chunks beside them, the native packages (onnxruntime-node, sharp) left to Node.
// A run then loads a handful of files instead of about seventy modules (yargs and its helpers alone are 25): one small file from process start took 277 ms against 335 (medians of 12 alternating runs).
// Dynamic imports stay chunks of their own, so a run whose model is on the thread still never loads onnxruntime on the main thread, and the early thread starts before yargs loads.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const dist = path.join(path.dirname(path.dirname(fileURLToPath(import.meta.url))), 'runtime-node', 'dist');
const outdir = path.join(dist, 'bundle');
for (const entry of ['cli.js', 'denoise-worker.js', 'session-thread.js']) {
  if (!existsSync(path.join(dist, entry))) {
    console.error(`bundle-cli: ${path.join(dist, entry)} is missing: run tsc first (npm run build)`);
    process.exit(1);
  }
}
rmSync(outdir, { recursive: true, force: true });
await build({
  // The threads' files keep their names: early-thread.ts and session-pool.ts start them as ./denoise-worker.js and
  // ./session-thread.js beside the code that asks.
  entryPoints: { cli: path.join(dist, 'cli.js'), 'denoise-worker': path.join(dist, 'denoise-worker.js'), 'session-thread': path.join(dist, 'session-thread.js') },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external: ['onnxruntime-node', 'sharp'],
  // CommonJS dependencies (cli-progress) call require() for Node's own modules, which an ES module has not.
  banner: { js: "import { createRequire as __bundleRequire } from 'node:module'; const require = __bundleRequire(import.meta.url);" },
  logLevel: 'warning',
});
