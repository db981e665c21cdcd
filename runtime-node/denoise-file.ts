// One image file through the denoiser: read, optional demo noise, denoise, write atomically, metrics against a reference, comparison picture.
import { stat } from 'node:fs/promises';
import path from 'node:path';
import { colourToUnit, type PixelImage, type RowListener, type RowWaiter, type SameKind, mse, psnrFromMse, ssim, addGaussianNoise } from 'onnx-denoiser-common';
import { writeFileAtomic, WriteFailure } from './atomic-file.js';
import { comparisonPicture, type Panel } from './compare.js';
import { encodeImage, type FilePixels, keeps16Bit, outputFormat, readImage, writesPngRows } from './image-file.js';
import { PngRowWriter } from './png-rows.js';

/** What to do with one file. */
export interface FileJob {
  input: string;
  output: string;
  /** Where to write the side-by-side PNG, if wanted. */
  compare?: string;
  /** A clean image to score against (PSNR, SSIM). */
  reference?: string;
  /**
   * Whether the output existed when the run was planned, by a planner that has made sure it is not an input (one
   * stat per file, made for all files at once). A file that appears later is still never replaced without `force`:
   * the final link fails.
   */
  outputExists: boolean;
}

/** What {@link denoiseFile} needs of a Denoiser (the library's, or one served by a thread). */
export interface ImageDenoiser {
  /**
   * `onRows`, where the denoiser calls it, hands over rows of the result as they become final; `waitForRows` is
   * awaited before rows of an image still being decoded are read (see Denoiser.denoise).
   */
  denoise<I extends PixelImage>(image: I, options?: { onRows?: RowListener | undefined; waitForRows?: RowWaiter | undefined }): Promise<SameKind<I>>;
  /** Gets ready for an image of this size (and channels, where the header says), told as soon as its header is read (see Denoiser.prepare). */
  prepare?(width: number, height: number, channels?: number): void;
}

/**
 * Pixels of decoded images in flight, bounded: a file waits before decoding until its pixels fit under the limit
 * (or nothing else is held, so one image larger than the limit still goes), first come first served.
 */
export class PixelBudget {
  #held = 0;
  readonly #waiting: { pixels: number; go: () => void }[] = [];

  constructor(
    /** Most pixels held at once. */
    readonly limit: number,
  ) {}

  /** Pixels held now. */
  get held(): number {
    return this.#held;
  }

  /** Resolves once `pixels` are held for the caller (give them back with {@link release}). */
  acquire(pixels: number): Promise<void> {
    if (this.#waiting.length === 0 && this.#fits(pixels)) {
      this.#held += pixels;
      return Promise.resolve();
    }
    return new Promise((go) => this.#waiting.push({ pixels, go }));
  }

  /** Gives back pixels {@link acquire} gave, and lets waiting files go in their order while they fit. */
  release(pixels: number): void {
    this.#held -= pixels;
    while (this.#waiting.length > 0 && this.#fits(this.#waiting[0]!.pixels)) {
      const next = this.#waiting.shift()!;
      this.#held += next.pixels;
      next.go();
    }
  }

  #fits(pixels: number): boolean {
    return this.#held === 0 || this.#held + pixels <= this.limit;
  }
}

/** Settings shared by every file of a run. */
export interface FileSettings {
  /** Replace existing outputs (inputs are never replaced). */
  force: boolean;
  /** Pixel limit per image. */
  maxPixels: number;
  /** The flag that raises it, for messages. */
  limitName: string;
  /** Gaussian noise added before denoising (demos on clean images); the clean image is then the default reference. */
  noise?: { factor: number; seed: number };
  /** Bounds the pixels of the images in flight (decoded, denoised, encoded), when given. */
  budget?: PixelBudget;
}

/** Quality of one image against the reference. */
export interface Scores {
  psnr: number;
  /** Null when the image is smaller than SSIM's 11x11 window. */
  ssim: number | null;
}

/** The outcome for one file (also what `--json` prints). */
export interface FileReport {
  input: string;
  output: string;
  ok: boolean;
  error?: string;
  width?: number;
  height?: number;
  channels?: number;
  bitDepth?: number;
  inputFormat?: string;
  outputFormat?: string;
  iccKept?: boolean;
  seconds?: number;
  compare?: string;
  metrics?: { reference: string; noisy: Scores; denoised: Scores; psnrGain: number };
  notes?: string[];
}

/** Colour-channel PSNR (dB) and SSIM of `image` against `reference`, both scaled to [0, 1]. */
export function scoreImage(image: PixelImage, reference: PixelImage): Scores {
  const a = colourToUnit(image);
  const b = colourToUnit(reference);
  const error = mse(a.values, b.values);
  const small = image.width < 11 || image.height < 11;
  return { psnr: psnrFromMse(error), ssim: small ? null : ssim(a.values, b.values, image.width, image.height, { channels: a.channels }) };
}

/** Whether a path exists; any error reads as no. */
function exists(file: string): Promise<boolean> {
  return stat(file).then(() => true, () => false);
}

function writeError(file: string, error: unknown): Error {
  // A folder that could not be made: the real cause (a part of the path that is a file, a read-only file system).
  if (error instanceof WriteFailure) return new Error(`cannot write ${file}: ${error.reason}`);
  const code = (error as NodeJS.ErrnoException).code;
  const why =
    code === 'EEXIST' ? 'it already exists (use --force to replace it)'
    : code === 'EACCES' || code === 'EPERM' ? 'permission denied'
    : code === 'ENOTDIR' ? 'a part of its folder path is a file'
    : code === 'EROFS' ? 'read-only file system'
    : code === 'ENOSPC' ? 'no space left on the device'
    : (error as Error).message;
  return new Error(`cannot write ${file}: ${why}`);
}

async function write(file: string, data: Uint8Array, force: boolean): Promise<void> {
  try {
    await writeFileAtomic(file, data, { overwrite: force });
  } catch (error) {
    throw writeError(file, error);
  }
}

function channelName(channels: number): string {
  return ['grey', 'grey + alpha', 'RGB', 'RGBA'][channels - 1] ?? `${channels} channels`;
}

/** Human description of an image: "512x512 grey 8-bit". */
export function describeImage(report: FileReport): string {
  return `${report.width}x${report.height} ${channelName(report.channels ?? 0)} ${report.bitDepth}-bit`;
}

/**
 * Denoises one file and writes the result (temp file, then rename: never a partial file). Never throws: failures
 * come back as a report with `ok: false` and a message naming the file.
 */
export async function denoiseFile(denoiser: ImageDenoiser, job: FileJob, settings: FileSettings): Promise<FileReport> {
  const report: FileReport = { input: job.input, output: job.output, ok: false };
  const started = performance.now();
  const notes: string[] = [];
  const { budget } = settings;
  let held = 0;
  try {
    const format = outputFormat(job.output);
    if (!settings.force && job.outputExists) throw new Error(`output ${job.output} already exists (use --force to replace it)`);
    if (job.compare && !settings.force && (await exists(job.compare))) throw new Error(`comparison picture ${job.compare} already exists (use --force to replace it)`);
    const beforeDecode = async (pixels: number, { width, height, channels }: { width: number; height: number; channels: number | undefined }) => {
      // The lanes of a large image start while it decodes (a small one never needs them).
      denoiser.prepare?.(width, height, channels);
      if (!budget) return;
      await budget.acquire(pixels);
      held = pixels;
    };
    // A large plain PNG comes back while it decodes: the model starts on its first rows (see waitForRows below).
    const loaded = await readImage(job.input, { maxPixels: settings.maxPixels, limitName: settings.limitName, rowsAsDecoded: true, beforeDecode });
    const { image, decoding } = loaded;
    Object.assign(report, { width: image.width, height: image.height, channels: image.channels, bitDepth: loaded.bitDepth, inputFormat: loaded.format, outputFormat: format });
    if (loaded.pages > 1) notes.push(`first of ${loaded.pages} frames`);
    // The reference is checked before anything is written, so a mismatch leaves no output behind.
    let reference: FilePixels | undefined;
    let referenceName: string | undefined;
    if (job.reference) {
      const ref = await readImage(job.reference, { maxPixels: settings.maxPixels, limitName: settings.limitName, grey: image.channels <= 2 });
      if (ref.image.width !== image.width || ref.image.height !== image.height) {
        throw new Error(`reference ${job.reference} is ${ref.image.width}x${ref.image.height} but the image is ${image.width}x${image.height}`);
      }
      reference = ref.image;
      referenceName = job.reference;
    } else if (settings.noise) {
      reference = image;
      referenceName = `${job.input} (clean, before --add-noise)`;
    }
    // Noise is added to the whole image.
    if (decoding && settings.noise) await decoding.done;
    const noisy: FilePixels = settings.noise ? addGaussianNoise<FilePixels>(image, settings.noise.factor, settings.noise.seed) : image;
    // A PNG that encodeImage would write with a PngRowWriter is written as its rows are denoised instead (the same
    // bytes), so that its compression runs on the thread pool beside the model's runs.
    let rows: PngRowWriter | undefined;
    const onRows: RowListener | undefined =
      writesPngRows(image, job.output, loaded)
        ? (result, y0, count) => {
            rows ??= new PngRowWriter(result.width, result.height, result.channels as 1 | 2 | 3 | 4, result.data instanceof Uint16Array ? 16 : 8);
            rows.push(result as PixelImage<Uint8Array | Uint16Array>, y0, count);
          }
        : undefined;
    let denoised: FilePixels;
    let encoded: Uint8Array;
    try {
      denoised = (await denoiser.denoise(noisy as PixelImage<Uint8Array | Uint16Array>, { onRows, waitForRows: decoding?.waitForRows })) as FilePixels;
      // The last rows are in; the checksum after them too before anything is written.
      await decoding?.done;
      if (rows && !rows.complete) throw new Error(`the denoiser handed over only some rows of ${job.input}`);
      // A denoiser that hands no rows over (a thread's) leaves the whole image to encodeImage.
      encoded = rows ? await rows.finish() : await encodeImage(denoised, job.output, { original: loaded });
    } catch (error) {
      rows?.abort();
      throw error;
    }
    if (loaded.bitDepth === 16 && !keeps16Bit(format)) notes.push(`16-bit samples written as 8-bit (${format} keeps 8 bits)`);
    if ((image.channels === 2 || image.channels === 4) && format === 'jpeg') notes.push('alpha dropped (JPEG has none)');
    report.iccKept = loaded.icc !== undefined && format !== 'gif';
    await write(job.output, encoded, settings.force);

    if (reference && referenceName) {
      const before = scoreImage(noisy, reference);
      const after = scoreImage(denoised, reference);
      report.metrics = { reference: referenceName, noisy: before, denoised: after, psnrGain: after.psnr - before.psnr };
    }
    if (job.compare) {
      const caption = (label: string, scores?: Scores) => (scores ? `${label}  ${scores.psnr.toFixed(2)} dB` : label);
      const panels: Panel[] = [
        { label: caption(settings.noise ? 'noisy (noise added)' : 'input', report.metrics?.noisy), image: noisy },
        { label: caption('denoised', report.metrics?.denoised), image: denoised },
      ];
      if (reference) panels.push({ label: 'reference', image: reference });
      await write(job.compare, await comparisonPicture(panels), settings.force);
      report.compare = job.compare;
    }
    report.ok = true;
  } catch (error) {
    report.error = (error as Error).message ?? String(error);
  } finally {
    if (held) budget!.release(held);
  }
  report.seconds = Number(((performance.now() - started) / 1000).toFixed(3));
  if (notes.length) report.notes = notes;
  return report;
}
