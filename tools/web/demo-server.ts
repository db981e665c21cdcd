// `npm run demo:web`: builds the browser runtime and serves the demo page on 127.0.0.1, printing its URL.
// Run: npm run demo:web [-- --port 8080] (port 0 picks a free one; a busy port falls back to a free one).
import path from 'node:path';
import { check } from 'onnx-denoiser-common';
import { buildWeb, webOutDir } from './build.js';
import { startStaticServer, type StaticServer } from './static-server.js';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

async function main(): Promise<void> {
  const port = Number(option('port', '8080'));
  check(Number.isInteger(port) && port >= 0 && port <= 65535, 'a port from 0 to 65535', '--port', option('port', ''));
  const files = await buildWeb();
  const root = webOutDir();
  const bytes = files.reduce((a, f) => a + f.bytes, 0);
  console.log(`built ${path.relative(process.cwd(), root)}/ (${files.length} files, ${(bytes / 1024 / 1024).toFixed(1)} MB)`);
  const log = (line: string) => console.log(`  ${line}`);
  let server: StaticServer;
  try {
    server = await startStaticServer({ root, port, log });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw error;
    console.log(`port ${port} is busy: taking a free one`);
    server = await startStaticServer({ root, port: 0, log });
  }
  console.log(`demo: ${server.url}  (Ctrl-C stops)`);
  process.on('SIGINT', () => {
    void server.close().then(() => process.exit(0));
  });
}

main().catch((error) => {
  console.error(`demo:web failed: ${(error as Error).message}`);
  process.exitCode = 1;
});
