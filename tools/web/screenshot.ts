// Takes the README's screenshot of the demo page (runtime-web/demo-screenshot.png): builds, opens the demo in headless chromium, waits for the sample to be denoised.
// Run: npx tsx tools/web/screenshot.ts [--device auto|webgpu|wasm] [--out runtime-web/demo-screenshot.png]
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import sharp from 'sharp';
import { openBrowserPage } from './browser-harness.js';
import { buildWeb, projectRoot } from './build.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

async function main(): Promise<void> {
  const device = option('device', 'auto');
  const out = path.resolve(option('out', path.join(projectRoot(), 'runtime-web', 'demo-screenshot.png')));
  await buildWeb();
  const harness = await openBrowserPage({ page: `/?device=${encodeURIComponent(device)}`, viewport: { width: 1000, height: 720 } });
  try {
    await harness.page.waitForFunction(() => ['done', 'error'].includes(document.body.dataset.state ?? ''), null, { timeout: 120_000 });
    const state = await harness.page.evaluate(() => document.body.dataset.state);
    if (state !== 'done') throw new Error(`the demo page shows an error: ${await harness.page.locator('#status').textContent()}`);
    const png = await harness.page.screenshot({ fullPage: true });
    // A palette PNG keeps the committed file small; the page has few colours besides the grey pictures.
    const small = await sharp(png).png({ palette: true, colours: 96, compressionLevel: 9, effort: 10 }).toBuffer();
    writeFileSync(out, small);
    console.log(`wrote ${path.relative(process.cwd(), out)} (${(small.length / 1024).toFixed(0)} kB)`);
  } finally {
    await harness.close();
  }
}

main().catch((error) => {
  console.error(`screenshot failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
