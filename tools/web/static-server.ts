// A tiny static file server on node:http for the built web folder (demo, tests, bench): 127.0.0.1 only, no directory escapes, cross-origin isolated so wasm may use threads.
import { createReadStream, existsSync, statSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import path from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.txt': 'text/plain; charset=utf-8',
};

/** The content type a file name gets. */
export function contentType(name: string): string {
  return TYPES[path.extname(name).toLowerCase()] ?? 'application/octet-stream';
}

// COOP + COEP make the page cross-origin isolated: SharedArrayBuffer exists and onnxruntime-web's wasm can use threads.
const HEADERS = {
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-embedder-policy': 'require-corp',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

/** An in-memory response registered with {@link StaticServer.route}. */
export interface Route {
  body: string | Uint8Array;
  /** Content type (default: from the path's extension). */
  type?: string;
  /** HTTP status (default 200). */
  status?: number;
}

/** A running server. */
export interface StaticServer {
  /** Base URL, ending in "/": `http://127.0.0.1:<port>/`. */
  url: string;
  port: number;
  /** Serves `body` at `urlPath` (e.g. "/test/page.html") from now on, before any file; returns its full URL. */
  route(urlPath: string, route: Route): string;
  /** Stops serving what {@link route} put at `urlPath`. */
  unroute(urlPath: string): void;
  close(): Promise<void>;
}

/** Options for {@link startStaticServer}. */
export interface StaticServerOptions {
  /** Folder served at "/" ("/" itself is its index.html). */
  root: string;
  /** Port (default 0: any free one). */
  port?: number;
  /** Called with one line per request (method, path, status). */
  log?: (line: string) => void;
}

/** Starts a static server on 127.0.0.1 for `root`. */
export async function startStaticServer(options: StaticServerOptions): Promise<StaticServer> {
  const root = path.resolve(options.root);
  const routes = new Map<string, Route>();
  const sockets = new Set<Socket>();
  const server = http.createServer((request, response) => {
    const finish = (status: number) => options.log?.(`${request.method} ${request.url} ${status}`);
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.writeHead(405, { ...HEADERS, allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return finish(405);
    }
    let urlPath: string;
    try {
      urlPath = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    } catch {
      response.writeHead(400, { ...HEADERS, 'content-type': 'text/plain' }).end('bad request\n');
      return finish(400);
    }
    const route = routes.get(urlPath);
    if (route) {
      const body = typeof route.body === 'string' ? Buffer.from(route.body) : route.body;
      response.writeHead(route.status ?? 200, { ...HEADERS, 'content-type': route.type ?? contentType(urlPath), 'content-length': body.length });
      response.end(request.method === 'HEAD' ? undefined : body);
      return finish(route.status ?? 200);
    }
    let file = path.join(root, urlPath);
    // path.join normalises "..": anything resolving outside the root is refused.
    if (file !== root && !file.startsWith(root + path.sep)) {
      response.writeHead(403, { ...HEADERS, 'content-type': 'text/plain' }).end('forbidden\n');
      return finish(403);
    }
    if (existsSync(file) && statSync(file).isDirectory()) file = path.join(file, 'index.html');
    if (!existsSync(file) || !statSync(file).isFile()) {
      response.writeHead(404, { ...HEADERS, 'content-type': 'text/plain' }).end(`not found: ${urlPath}\n`);
      return finish(404);
    }
    response.writeHead(200, { ...HEADERS, 'content-type': contentType(file), 'content-length': statSync(file).size });
    if (request.method === 'HEAD') response.end();
    else createReadStream(file).pipe(response);
    finish(200);
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/`;
  return {
    url,
    port,
    route(urlPath, route) {
      routes.set(urlPath, route);
      return new URL(urlPath, url).href;
    },
    unroute(urlPath) {
      routes.delete(urlPath);
    },
    close: () =>
      new Promise<void>((resolve) => {
        // Keep-alive connections from the browser would hold the server open.
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
