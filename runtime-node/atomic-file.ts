// Output files that are complete or absent: written to a temp file beside the target, then renamed (or hard-linked when replacing is not allowed).
import { randomBytes } from 'node:crypto';
import { constants, linkSync, renameSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { access, link, mkdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** Names of the temp files {@link writeFileAtomic} writes (`.<name>.<8 hex digits>.tmp`): only a killed process leaves one. */
export const TEMP_FILE_PATTERN = /^\..+\.[0-9a-f]{8}\.tmp$/;

/** Outputs under this many bytes (or characters) are written with synchronous calls. */
const SYNC_BYTES = 65_536;

/** The first temp-file suffix of this process: random, so two processes writing the same output do not collide. */
let suffixBase: number | undefined;
let suffixCount = 0;

/** 8 hex digits, different for each temp file of this process (random bytes per file cost 16 us each in a folder of small PNGs). */
function tempSuffix(): string {
  suffixBase ??= randomBytes(4).readUInt32BE(0);
  return ((suffixBase + suffixCount++) >>> 0).toString(16).padStart(8, '0');
}

/** Temp files of writes in flight, so a signal handler can remove them before the process exits. */
const pending = new Set<string>();

/**
 * A folder for an output that cannot be made, with the real cause: `code` is `ENOTDIR` when a part of the path is a
 * file, `EROFS` for a read-only file system, `EACCES` when permission is denied; `blocker` is the path at fault.
 */
export class WriteFailure extends Error {
  override name = 'WriteFailure';

  constructor(
    readonly code: string,
    /** The cause in words, e.g. "out.txt is a file, not a folder". */
    readonly reason: string,
    readonly blocker: string,
  ) {
    super(reason);
  }
}

/** Why `dir` could not be created: looks at its nearest existing ancestor (mkdir's own code is often ENOENT or EEXIST). */
async function folderFailure(dir: string, error: unknown): Promise<unknown> {
  // Walked up as given (relative stays relative), so messages name the path the way the caller wrote it.
  let ancestor = dir;
  let info = await stat(ancestor).catch(() => undefined);
  while (!info && path.dirname(ancestor) !== ancestor) {
    ancestor = path.dirname(ancestor);
    info = await stat(ancestor).catch(() => undefined);
  }
  if (!info) return error;
  const shown = ancestor;
  if (!info.isDirectory()) return new WriteFailure('ENOTDIR', `${shown} is a file, not a folder`, ancestor);
  try {
    await access(ancestor, constants.W_OK);
  } catch (cause) {
    const code = (cause as NodeJS.ErrnoException).code ?? 'EACCES';
    return new WriteFailure(code, code === 'EROFS' ? `${shown} is on a read-only file system` : `${shown} is not writable (permission denied)`, ancestor);
  }
  return error;
}

/**
 * Writes `data` to `file` atomically: a temp file in the same folder, then a rename over the target
 * (`overwrite: true`) or a hard link that fails with EEXIST when the target exists (`overwrite: false`, so a file
 * that appeared meanwhile is never replaced). On failure the temp file is removed and the target is untouched.
 * Missing folders are created; when that fails the error is a {@link WriteFailure} naming the real cause.
 */
export async function writeFileAtomic(file: string, data: string | Uint8Array, { overwrite }: { overwrite: boolean }): Promise<void> {
  const dir = path.dirname(file);
  await ensureFolder(dir);
  const temp = path.join(dir, `.${path.basename(file)}.${tempSuffix()}.tmp`);
  pending.add(temp);
  let moved = false;
  // Small files are written, renamed and linked synchronously: a thread-pool round trip per call cost more than the
  // calls themselves (a folder of 1000 28x28 PNGs through the CLI: 5 of 6 runs faster into a new folder, 5 of 5 when
  // replacing, by 5 to 20%, measured beside a training run). Large ones go through the thread pool, which overlaps
  // them with other files' work.
  const small = data.length < SYNC_BYTES;
  const put = small ? async () => writeFileSync(temp, data, { flag: 'wx' }) : () => writeFile(temp, data, { flag: 'wx' });
  try {
    try {
      await put();
    } catch (error) {
      // The folder went away after this process made it: make it again, once.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT' || !madeFolders.delete(dir)) throw error;
      await ensureFolder(dir);
      await put();
    }
    if (overwrite) {
      if (small) renameSync(temp, file);
      else await rename(temp, file);
      moved = true;
    } else if (small) linkSync(temp, file);
    else await link(temp, file);
  } finally {
    // After a rename there is no temp file left to remove (a folder of small files saves one call per file). A small
    // file's temp name is unlinked synchronously too: fs.promises.rm took 0.5 to 1.2 ms per file in thread-pool
    // round trips (lstat, then unlink) on a busy machine, against 7 to 16 us for unlinkSync.
    if (!moved) {
      if (small) removeQuietly(temp);
      else await rm(temp, { force: true });
    }
    pending.delete(temp);
  }
}

/** Removes a file that may not exist (one unlink; rmSync would lstat it first). */
function removeQuietly(file: string): void {
  try {
    unlinkSync(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
  }
}

/** Folders this process made or found, so writing many files into one makes it once. */
const madeFolders = new Set<string>();

async function ensureFolder(dir: string): Promise<void> {
  if (madeFolders.has(dir)) return;
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw await folderFailure(dir, error);
  }
  madeFolders.add(dir);
}

/**
 * Removes the temp files of every {@link writeFileAtomic} call still in flight, synchronously: for a signal handler
 * that is about to exit (the targets stay as they were: complete or absent).
 */
export function removePendingTempFiles(): void {
  for (const temp of pending) {
    try {
      rmSync(temp, { force: true });
    } catch {
      // nothing more can be done while exiting
    }
  }
  pending.clear();
}
