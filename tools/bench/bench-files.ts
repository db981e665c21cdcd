// What the Node benches share: seeded test images as PNG files, and the environment the `denoise` bin runs in.
import { readFileSync } from 'node:fs';
import sharp from 'sharp';
import { Rng } from 'onnx-denoiser-common';

/** A seeded grey test image: a smooth pattern with noise, the same for a seed on every run. */
export function pattern(width: number, height: number, seed: number): Uint8Array {
  const data = new Uint8Array(width * height);
  const rng = new Rng(seed);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const base = 128 + 90 * Math.sin(x / (7 + (seed % 5))) * Math.cos(y / 11);
      data[y * width + x] = Math.max(0, Math.min(255, Math.round(base + (rng.nextFloat() - 0.5) * 76.8)));
    }
  }
  return data;
}

/** Writes grey pixels as a PNG (zlib level 6, as most tools write them). */
export async function writePng(file: string, data: Uint8Array, width: number, height: number): Promise<void> {
  await sharp(data, { raw: { width, height, channels: 1 } }).toColourspace('b-w').png({ compressionLevel: 6 }).toFile(file);
}

/**
 * The environment the `denoise` bin's shebang line sets (`#!/usr/bin/env -S NAME=value node`), read from the bin
 * next to `cliPath`'s package or from `cliPath` itself: a bench that starts Node itself passes the same variables,
 * to measure the CLI as users run it.
 */
export function binEnvironment(cliPath: string): NodeJS.ProcessEnv {
  const shebang = readFileSync(cliPath, 'utf8').split('\n')[0]!;
  const assignments = [...shebang.matchAll(/\b([A-Z_]+)=(\S+)/g)].map((m) => [m[1]!, m[2]!] as const);
  return { ...process.env, ...Object.fromEntries(assignments) };
}
