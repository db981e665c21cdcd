// Opens the web consumer in headless Debian chromium (playwright-core from the repository): the esbuild bundle
// (dist/index.html) and the plain page on the prebuilt module (plain.html). Prints what each page reports; exit 1
// when a page fails, the denoiser gains no PSNR, or the element does not finish.
// Usage: node .ci/consumers/web/run.mjs CONSUMER_DIR
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import path from 'node:path';
import { chromium } from 'playwright-core';

const root = path.resolve(process.argv[2] ?? '.');
const types = { '.html': 'text/html', '.js': 'text/javascript', '.mjs': 'text/javascript', '.wasm': 'application/wasm', '.png': 'image/png', '.onnx': 'application/octet-stream' };
const server = createServer((req, res) => {
  const file = path.join(root, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname));
  if (!file.startsWith(root) || !existsSync(file) || !statSync(file).isFile()) {
    res.writeHead(404).end('not found');
    return;
  }
  res.writeHead(200, { 'content-type': types[path.extname(file)] ?? 'application/octet-stream' });
  createReadStream(file).pipe(res);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const base = `http://127.0.0.1:${server.address().port}`;
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
});
let failed = false;
try {
  for (const [name, url, check] of [
    ['esbuild bundle', `${base}/dist/index.html`, 'bundle'],
    ['plain page, prebuilt module', `${base}/plain.html`, 'element'],
  ]) {
    const page = await browser.newPage();
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('response', (r) => r.status() >= 400 && !r.url().endsWith('/favicon.ico') && errors.push(`HTTP ${r.status()} ${r.url()}`));
    await page.goto(url);
    let result;
    if (check === 'bundle') {
      result = await page.evaluate(() => window.consumerResult);
      const ok = result.device === 'wasm' && result.psnrDenoised > result.psnrNoisy && result.element === 'done';
      failed ||= !ok;
    } else {
      await page.waitForFunction(() => ['done', 'error'].includes(document.querySelector('denoise-image')?.getAttribute('state') ?? ''), null, { timeout: 60_000 });
      result = await page.evaluate(() => ({ state: document.querySelector('denoise-image').getAttribute('state'), status: document.querySelector('denoise-image').shadowRoot?.querySelector('[part=status]')?.textContent }));
      failed ||= result.state !== 'done';
    }
    if (errors.length) failed = true;
    console.log(`${name}: ${JSON.stringify(result)}${errors.length ? ` errors: ${errors.join(' | ')}` : ''}`);
    await page.close();
  }
} catch (error) {
  console.error(error);
  failed = true;
} finally {
  await browser.close();
  server.close();
}
process.exitCode = failed ? 1 : 0;
