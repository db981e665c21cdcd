// Output files that are complete or absent: written to a temp file beside the target, then renamed (or hard-linked when replacing is not allowed).
import { randomBytes } from 'node:crypto';
import { link, mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Writes `data` to `file` atomically: a temp file in the same folder, then a rename over the target
 * (`overwrite: true`) or a hard link that fails with EEXIST when the target exists (`overwrite: false`, so a file
 * that appeared meanwhile is never replaced). On failure the temp file is removed and the target is untouched.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, { overwrite }: { overwrite: boolean }): Promise<void> {
  const dir = path.dirname(file);
  await mkdir(dir, { recursive: true });
  const temp = path.join(dir, `.${path.basename(file)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    await writeFile(temp, data, { flag: 'wx' });
    if (overwrite) await rename(temp, file);
    else await link(temp, file);
  } finally {
    await rm(temp, { force: true });
  }
}
