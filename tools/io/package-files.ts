// Where the tools' files are, from source or dist/, in the repository or installed: the project root (models/ with
// the specs, samples and photo manifest), the tools package itself (its compiled scripts) and the `denoise` bin.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));

/** The onnx-denoiser-tools package folder (holding its package.json and dist/). */
export function toolsRoot(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json'))) return dir;
    dir = dirname(dir);
  }
  throw new Error(`no package.json above ${here}`);
}

/**
 * The folder holding package.json and models/: the repository root when the tools run in a checkout, the installed
 * package (which carries the specs and the photo manifest in its models/) otherwise.
 */
export function packageRoot(): string {
  let dir = here;
  for (let i = 0; i < 6; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
}

/** A compiled tools script (path relative to the tools package's dist/, e.g. `bench/node-bench.js`). */
export function toolsScript(file: string): string {
  return join(toolsRoot(), 'dist', file);
}

/** The `denoise` bin of onnx-denoiser-node (the executable file `npx denoise` runs). */
export function denoiseBin(): string {
  return join(nodePackageFolder(), 'bin', 'denoise.js');
}

/**
 * onnx-denoiser-node's built `internal` entry (dist/internal.js), as users load it: run from the TypeScript sources
 * (tsx, vitest), the library finds no compiled script for its lanes' threads and runs one session at a time.
 */
export function builtNodeInternal(): string {
  return join(nodePackageFolder(), 'dist', 'internal.js');
}

function nodePackageFolder(): string {
  return dirname(createRequire(import.meta.url).resolve('onnx-denoiser-node/package.json'));
}

/**
 * A file shipped in the package's `models/` folder, as a path relative to the working directory when it lies
 * below it (so messages stay short), else absolute: the tools work from any folder.
 */
export function shippedModelFile(name: string): string {
  const file = join(packageRoot(), 'models', name);
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

/** The version in onnx-denoiser-tools' package.json. */
export function toolsVersion(): string {
  return (JSON.parse(readFileSync(join(toolsRoot(), 'package.json'), 'utf8')) as { version?: string }).version ?? '0.0.0';
}
