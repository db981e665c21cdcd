// Where the package is installed: the folder holding models/ (the package itself once installed, the repository
// root in a checkout), and the package's own manifest, from source or from dist/.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The folder holding package.json and models/, found from this file whether it runs from source or dist/. */
export function packageRoot(): string {
  let dir = here;
  for (let i = 0; i < 5; i++) {
    if (existsSync(path.join(dir, 'package.json')) && existsSync(path.join(dir, 'models'))) return dir;
    dir = path.dirname(dir);
  }
  return process.cwd();
}

/** The version in onnx-denoiser-node's own package.json (the nearest one above this file). */
export function packageVersion(): string {
  let dir = here;
  for (let i = 0; i < 4; i++) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) return (JSON.parse(readFileSync(file, 'utf8')) as { version?: string }).version ?? '0.0.0';
    dir = path.dirname(dir);
  }
  return '0.0.0';
}
