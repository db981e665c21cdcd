// Where the package's shipped files are, from source or dist/, wherever the tools run from.
import { existsSync } from 'node:fs';
import { dirname, isAbsolute, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

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
