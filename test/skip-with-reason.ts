// Skips a test with its reason printed: vitest's default reporter shows only how many tests were skipped, never why.
import type { TestContext } from 'vitest';

/**
 * Skips the running test (from its body or a beforeEach) when `condition` holds: prints `skipped: <reason>` under
 * the test's name and keeps the reason as vitest's skip note (shown by the verbose reporter).
 */
export function skipWithReason(ctx: TestContext, condition: boolean, reason: string): void {
  if (!condition) return;
  console.log(`skipped: ${reason}`);
  ctx.skip(reason);
}
