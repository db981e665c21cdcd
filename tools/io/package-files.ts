// Where the package's shipped files are, from source or dist/, wherever the tools run from.
import { isAbsolute, join, relative } from 'node:path';
import { packageRoot } from '../../runtime-node/package-root.js';

export { packageRoot };

/**
 * A file shipped in the package's `models/` folder, as a path relative to the working directory when it lies
 * below it (so messages stay short), else absolute: the tools work from any folder.
 */
export function shippedModelFile(name: string): string {
  const file = join(packageRoot(), 'models', name);
  const rel = relative(process.cwd(), file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}
