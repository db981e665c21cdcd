// Vitest global setup for the browser tests: builds dist/web (library, demo, wasm files) once per run, so a fresh clone and every edit are tested as built.
import { buildWeb } from '../../tools/web/build.js';

export default async function setup(): Promise<void> {
  await buildWeb();
}
