// Vitest global setup for the browser tests: builds dist/web (library, demo, wasm files) unless it is current, so a fresh clone and every edit are tested as built.
import { buildWeb, webBuildStaleness } from '../../tools/web/build.js';

export default async function setup(): Promise<void> {
  const stale = webBuildStaleness();
  if (!stale) return;
  process.stdout.write(`global setup: building dist/web: ${stale}\n`);
  await buildWeb();
}
