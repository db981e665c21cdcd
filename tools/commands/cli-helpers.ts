// Shared pieces of the command-line tools: option parsing helpers and the error-to-exit-code policy.
import { check } from 'onnx-denoiser-common';

/** Parses `HxW` or `N` (square) into [height, width]; `name` is the flag for the error message. */
export function parseSize(value: unknown, name: string): [number, number] {
  const text = typeof value === 'number' ? String(value) : value;
  const match = typeof text === 'string' ? /^(\d+)(?:x(\d+))?$/.exec(text.trim()) : null;
  const height = match ? Number(match[1]) : NaN;
  const width = match ? Number(match[2] ?? match[1]) : NaN;
  check(height >= 1 && width >= 1, 'a size HEIGHTxWIDTH or N of positive integers (e.g. 28x28)', name, value);
  return [height, width];
}

/**
 * Thrown by a command that ends with a particular exit code after reporting for itself (training stopped by
 * Ctrl-C: 130); the CLI prints nothing more and exits with `code`.
 */
export class CommandExit extends Error {
  override name = 'CommandExit';

  constructor(readonly code: number, message = `exit ${code}`) {
    super(message);
  }
}
