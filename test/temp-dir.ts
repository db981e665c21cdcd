// Temporary folders for a test file: `tempDirs()` at the file's top level registers the afterAll that removes them all.
import { chmodSync, type Dirent, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll } from 'vitest';

/** Makes a new empty folder `<os temp folder>/<prefix>XXXXXX` (as `mkdtempSync`) and returns its path. */
export type MakeTempDir = (prefix: string) => string;

/**
 * Registers an `afterAll` hook in the calling suite and returns a {@link MakeTempDir} whose folders that hook removes,
 * whether they were made at the file's top level, in a hook or in a test. Call it once at a test file's top level,
 * before other hooks: hooks registered after it (vitest runs afterAll hooks last registered, first run) can still use
 * the folders. The paths are exactly as short as a plain `mkdtempSync(join(tmpdir(), prefix))` (messages checked by
 * tests quote them, and values past about 80 characters are cut).
 *
 * A function to call rather than an `afterAll` at this module's top level: that would register on the file that first
 * evaluates the module, which is every file only while vitest isolates test files (its default); with `isolate: false`
 * or `--no-isolate` the module is evaluated once per worker and the later files' folders would stay behind.
 *
 * Removal copes with folders a test made read-only (`chmod`): where `rmSync` fails, every folder inside is given back
 * owner rwx first, then removal runs again.
 */
export function tempDirs(): MakeTempDir {
  const made: string[] = [];
  afterAll(() => {
    for (const dir of made.splice(0)) removeFolder(dir);
  });
  return (prefix) => {
    const dir = mkdtempSync(path.join(tmpdir(), prefix));
    made.push(dir);
    return dir;
  };
}

function removeFolder(dir: string): void {
  const remove = () => rmSync(dir, { recursive: true, force: true, maxRetries: 3 });
  try {
    remove();
  } catch {
    makeWritable(dir);
    remove();
  }
}

/** Gives the owner rwx on `dir` and every folder below it (symbolic links are not followed), so that all can go. */
function makeWritable(dir: string): void {
  let entries: Dirent[];
  try {
    chmodSync(dir, 0o700);
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return;
  }
  for (const entry of entries) if (entry.isDirectory()) makeWritable(path.join(dir, entry.name));
}
