// Where the runtime's files are served: onnxruntime-web's wasm files in `ort/` and the shipped models in `models/`,
// next to the module by default (the prebuilt file, or your bundle when a bundler keeps import.meta.url).
import { check } from 'onnx-denoiser-common';

let base: string | undefined;

/**
 * Points the runtime at the folder (URL) holding `ort/` and `models/`, for bundlers that move this module away from
 * them (copy `node_modules/onnx-denoiser-web/dist/browser/ort` and `.../models` there). Call it before the first
 * `Denoiser.create`; a relative URL is resolved against the page.
 */
export function setAssetsUrl(url: string | URL): void {
  check((typeof url === 'string' && url.length > 0) || url instanceof URL, 'a folder URL (string or URL)', 'url', url);
  const page = (globalThis as { document?: Document }).document?.baseURI ?? (globalThis as { location?: Location }).location?.href;
  const href = new URL(String(url), page ?? import.meta.url).href;
  base = href.endsWith('/') ? href : `${href}/`;
}

/** The folder URL holding `ort/` and `models/` (ends with "/"). */
export function assetsUrl(): string {
  return base ?? new URL('./', import.meta.url).href;
}
