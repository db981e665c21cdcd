// Downloads a file (a model, an image) with byte progress and cancellation, turning HTTP and network failures into one clear message.
import { cannot } from 'onnx-denoiser-common';

/** Byte progress of a download: `total` is undefined when the server does not say (or sends it compressed). */
export type ByteProgress = (loaded: number, total: number | undefined) => void;

/** Resolves `url` against the page (or, off the page, this module) for messages and fetches. */
export function resolveUrl(url: string | URL): string {
  const base = (globalThis as { document?: Document }).document?.baseURI ?? (globalThis as { location?: Location }).location?.href ?? import.meta.url;
  return new URL(String(url), base).href;
}

/**
 * Fetches `url` into memory. `what` names the file in messages ("model", "image") and `argument` the option that
 * gave it.
 * @throws ValidationError `Cannot load <what> <url>: HTTP 404 Not Found` (or the network failure); the signal's
 * reason when it is aborted.
 */
export async function fetchBytes(url: string | URL, what: string, argument: string, options: { signal?: AbortSignal; onProgress?: ByteProgress } = {}): Promise<{ bytes: Uint8Array; type: string }> {
  const { signal, onProgress } = options;
  signal?.throwIfAborted();
  const href = resolveUrl(url);
  const fail = (reason: string) => cannot(`load ${what} ${String(url)}`, `${reason}${href !== String(url) ? ` (${href})` : ''}`, argument);
  let response: Response;
  try {
    response = await fetch(href, { signal });
  } catch (error) {
    signal?.throwIfAborted();
    throw fail(`network error (${(error as Error).message ?? String(error)})`);
  }
  if (!response.ok) throw fail(`HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  const length = Number(response.headers.get('content-length'));
  // A compressed response's content-length counts compressed bytes, not what the body stream yields.
  const total = Number.isFinite(length) && length > 0 && !response.headers.get('content-encoding') ? length : undefined;
  const type = response.headers.get('content-type') ?? '';
  onProgress?.(0, total);
  if (!response.body) {
    const bytes = new Uint8Array(await response.arrayBuffer());
    onProgress?.(bytes.length, total ?? bytes.length);
    return { bytes, type };
  }
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let loaded = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      loaded += value.length;
      onProgress?.(loaded, total);
    }
  } catch (error) {
    signal?.throwIfAborted();
    throw fail(`the download broke off after ${loaded} bytes (${(error as Error).message ?? String(error)})`);
  }
  const bytes = new Uint8Array(loaded);
  let at = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, at);
    at += chunk.length;
  }
  if (total === undefined) onProgress?.(loaded, loaded);
  return { bytes, type };
}
