// Vitest global setup (both projects): every temp file of a test run, its child processes' included, goes into one fresh folder (TMPDIR), removed when the run ends.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Points TMPDIR at a new folder for the run's workers and the processes they start; returns the teardown that removes it. */
export default function setup(): () => void {
  const folder = mkdtempSync(path.join(tmpdir(), 'onnx-denoiser-tests-'));
  const previous = process.env.TMPDIR;
  process.env.TMPDIR = folder;
  return () => {
    if (previous === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = previous;
    rmSync(folder, { recursive: true, force: true });
  };
}
