// File helpers for every tool: atomic writes (temp file, then rename) so no half-written output is ever left, and shipped files.
import { randomBytes } from 'node:crypto';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Writes `data` to `path` atomically: a temp file in the same folder, then a rename over the target.
 * On failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(path: string, data: string | Uint8Array): Promise<void> {
  const dir = dirname(path);
  await mkdir(dir, { recursive: true });
  const temp = join(dir, `.${basename(path)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data);
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

/** The folder holding package.json and models/, found from this file whether it runs from source or dist/. */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 5; i++) {
    if (existsSync(join(dir, 'package.json')) && existsSync(join(dir, 'models'))) return dir;
    dir = dirname(dir);
  }
  return process.cwd();
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
