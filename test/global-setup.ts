// Vitest global setup: compile every package once (tsc -b, incremental) so CLI tests run exactly what `npx tools` and `npx denoise` run.
import { execFileSync } from 'node:child_process';

export default function setup(): void {
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-b', 'tsconfig.build.json'], { stdio: 'inherit' });
}
