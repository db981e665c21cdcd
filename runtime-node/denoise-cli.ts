// The `denoise IN... -o OUT` command: files or folders in, per-file results, a summary, exit 1 when any file failed (cli.ts runs it).
import { readdir, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import yargs from 'yargs';
import { deviceNames, DEFAULT_MODEL_NAME, SHIPPED_MODELS, check, checkInteger, checkNumber, described, invalid, ValidationError } from 'onnx-denoiser-common';
import { describeImage, type FileJob, type FileReport, type FileSettings, denoiseFile, type ImageDenoiser, PixelBudget } from './denoise-file.js';
import type { NodeDevice } from './denoiser.js';
import { DEFAULT_MAX_PIXELS, IMAGE_EXTENSIONS, MAX_PIXEL_LIMIT, OUTPUT_FORMATS } from './image-file.js';
import { NODE_DEVICES } from './node-devices.js';
import { packageVersion } from './package-root.js';
import { ThreadFailure, WorkerDenoiser } from './worker-denoiser.js';
import { inferenceThreadAvailable, isFolderPath, mayBeManyFiles, statQuietly, takeInferenceThread, WORKER_MIN_FILES } from './early-thread.js';

/** Where the CLI writes: stdout for results, stderr for progress, errors and the summary. */
export interface CliStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

interface Arguments {
  inputs: string[];
  /** Omitted: each input's result goes beside it as `<name>.denoised.<ext>`. */
  output?: string;
  device: string;
  model?: string;
  threads?: number;
  concurrency?: number;
  tile: number;
  overlap?: number;
  sigma: string;
  addNoise?: number;
  seed: number;
  compare?: string;
  reference?: string;
  json: boolean;
  force: boolean;
  maxPixels: number;
  progress: boolean;
}

/** `--sigma`: "auto", or a number as text (yargs gives strings); anything else is passed on for the library's message. */
function parseSigma(text: string): number | 'auto' {
  const value = String(text).trim();
  if (value === 'auto') return 'auto';
  const number = value === '' ? NaN : Number(value);
  check(Number.isFinite(number), '"auto" or a number from 0 to 255 (8-bit levels)', '--sigma', text);
  return number;
}

const isDirectory = (p: string) => stat(p).then((s) => s.isDirectory(), () => false);

/** Suffix of the outputs written beside their inputs when no --output is given. */
export const BESIDE_SUFFIX = '.denoised';

/** `photo.jpg` -> `photo.denoised.jpg`, in the input's folder. */
function besideOutput(input: string): string {
  const ext = path.extname(input);
  return path.join(path.dirname(input), `${path.basename(input, ext)}${BESIDE_SUFFIX}${ext}`);
}

/**
 * One input as the user named it, expanded: folders contribute their image files (sorted, not recursive); with
 * `skipDenoised`, files a previous run wrote beside their inputs (`*.denoised.*`) are left out.
 */
async function expandInputs(inputs: string[], skipDenoised: boolean): Promise<{ files: string[]; fromFolder: boolean }> {
  const files: string[] = [];
  let fromFolder = false;
  for (const input of inputs) {
    if (await isDirectory(input)) {
      fromFolder = true;
      const names = (await readdir(input))
        .filter((n) => IMAGE_EXTENSIONS.includes(path.extname(n).toLowerCase()) && !n.startsWith('.'))
        .filter((n) => !skipDenoised || !path.basename(n, path.extname(n)).endsWith(BESIDE_SUFFIX))
        .sort();
      files.push(...names.map((n) => path.join(input, n)));
    } else {
      files.push(input);
    }
  }
  return { files, fromFolder };
}

/** Input files under this many bytes are small images: onnxruntime then runs on one thread unless --threads says otherwise. */
export const SMALL_INPUT_BYTES = 65_536;

/**
 * Files in flight at once unless --concurrency says otherwise: 2 to 4 (the cores); 1024 for many small files, so
 * that the main thread reads and decodes ahead while the model's thread starts (1000 28x28 PNGs: 2947 to 3342
 * files/s after start-up against 2573 to 2847 with 64, six alternating pairs in /dev/shm).
 */
const DEFAULT_CONCURRENCY = Math.max(2, Math.min(4, availableParallelism()));
const SMALL_FILES_CONCURRENCY = 1024;

/**
 * Most pixels of images in flight when more files than DEFAULT_CONCURRENCY are: 16 MP (64 thumbnails of
 * 500x500). A file under 64 KB can still hold a large image (a flat PNG, a small JPEG); such files then go a few at
 * a time, as do photos under a large --concurrency.
 */
const MANY_FILES_PIXELS = 16_000_000;

/** What a run needs of its Denoiser: the library's, or the same served by a thread (which does not call `onRows`). */
interface RunDenoiser extends ImageDenoiser {
  readonly device: string;
  readonly skipped: readonly string[];
  readonly model: { readonly source: string; readonly warnings: readonly string[] };
  dispose(): Promise<void>;
}

/** Decides every file's output (and comparison and reference) path; whole-run mistakes throw ValidationError. */
async function planJobs(args: Arguments): Promise<{ jobs: FileJob[]; problems: Map<number, string>; smallInputs: boolean }> {
  const output = args.output;
  const { files, fromFolder } = await expandInputs(args.inputs, output === undefined);
  const single = files.length === 1 && !fromFolder;
  const outputIsFolder = output !== undefined && (!single || isFolderPath(output) || (await isDirectory(output)) || !path.extname(output));
  if (output !== undefined && !single && !isFolderPath(output) && !(await isDirectory(output)) && OUTPUT_FORMATS[path.extname(output).toLowerCase()]) {
    // "a.png b.png -o result.png" is a mistake, not a request for a folder named result.png.
    check(false, `a folder for ${files.length} inputs (a name ending in an image extension is taken for a file: end it with / for a folder of that name)`, '--output', output);
  }
  if (output === undefined) {
    // Each result goes beside its input.
  } else if (outputIsFolder) {
    const existing = await stat(output).catch(() => undefined);
    check(!existing || existing.isDirectory(), 'a folder (several inputs go into a folder)', '--output', output);
  } else {
    check(Boolean(OUTPUT_FORMATS[path.extname(output).toLowerCase()]), `an output file ending in ${IMAGE_EXTENSIONS.join(', ')} (or a folder)`, '--output', output);
  }
  // One input: --compare and --reference name files (or folders); several: folders, matched by file name.
  const compareIsFolder = args.compare !== undefined && (!single || isFolderPath(args.compare) || (await isDirectory(args.compare)));
  if (args.compare !== undefined) {
    if (compareIsFolder) check(!(await stat(args.compare).catch(() => undefined))?.isFile() && path.extname(args.compare).toLowerCase() !== '.png', 'a folder for comparison pictures (several inputs)', '--compare', args.compare);
    else check(path.extname(args.compare).toLowerCase() === '.png', 'a .png file for the comparison picture', '--compare', args.compare);
  }
  const referenceIsFolder = args.reference !== undefined && (await isDirectory(args.reference));
  if (args.reference !== undefined && !single) check(referenceIsFolder, 'a folder of references matched by file name (several inputs)', '--reference', args.reference);
  const jobs = files.map((input): FileJob => {
    const name = path.basename(input);
    const stem = name.slice(0, name.length - path.extname(name).length);
    return {
      input,
      output: output === undefined ? besideOutput(input) : outputIsFolder ? path.join(output, name) : output,
      compare: args.compare ? (compareIsFolder ? path.join(args.compare, `${stem}.compare.png`) : args.compare) : undefined,
      reference: args.reference ? (referenceIsFolder ? path.join(args.reference, name) : args.reference) : undefined,
      outputExists: false,
    };
  });
  // Problems that are one file's: an output that is an input, or that another file of this run also writes.
  // Each output folder is listed once and only the names found there are stat'ed: a folder of 1000 new outputs
  // needs no stat at all (1000 failing ones took about 35 us each), nor does a folder this run will create. Names
  // are compared without case and Unicode form, so a case-insensitive file system cannot hide an input behind
  // another spelling; a folder that cannot be listed for another reason leaves every name to stat.
  const fold = (name: string) => name.normalize('NFC').toLowerCase();
  const listings = new Map<string, Promise<Set<string> | undefined>>();
  const listing = (dir: string) => {
    let names = listings.get(dir);
    const missing = (error: NodeJS.ErrnoException) => (error.code === 'ENOENT' ? new Set<string>() : undefined);
    if (!names) listings.set(dir, (names = readdir(dir).then((found) => new Set(found.map(fold)), missing)));
    return names;
  };
  const fileId = (info: { dev: number; ino: number } | undefined) => (info ? `${info.dev}:${info.ino}` : undefined);
  const identity = async (file: string) => {
    const names = await listing(path.dirname(file));
    if (names && !names.has(fold(path.basename(file)))) return undefined;
    return fileId(statQuietly(file));
  };
  // References are inputs too: nothing this run writes may replace one. The stats are synchronous: 1000 through
  // the thread pool took 65 to 70 ms of a folder's start, against about 10 one after the other.
  const inputList = [...new Set([...files, ...jobs.flatMap((j) => (j.reference ? [j.reference] : []))])];
  const inputStats = inputList.map(statQuietly);
  const inputIds = inputStats.map(fileId);
  const sizes = new Map(inputList.map((file, i) => [file, inputStats[i]?.size ?? Infinity]));
  const smallInputs = files.every((file) => sizes.get(file)! < SMALL_INPUT_BYTES);
  const inputs = new Map<string, string>();
  inputList.forEach((input, i) => {
    inputs.set(path.resolve(input), input);
    if (inputIds[i]) inputs.set(inputIds[i], input);
  });
  const targetIds = await Promise.all(jobs.map((job) => Promise.all([identity(job.output), job.compare ? identity(job.compare) : undefined])));
  const problems = new Map<number, string>();
  const claimed = new Map<string, number>();
  for (let i = 0; i < jobs.length; i++) {
    const job = jobs[i]!;
    for (const [kind, target, id] of [['output', job.output, targetIds[i]![0]], ['comparison picture', job.compare, targetIds[i]![1]]] as const) {
      if (!target) continue;
      const key = path.resolve(target);
      const input = inputs.get(key) ?? (id ? inputs.get(id) : undefined);
      if (input !== undefined) problems.set(i, `${kind} ${target} is the input file ${input}; inputs are never overwritten`);
      const owner = claimed.get(key);
      if (owner !== undefined && !problems.has(i)) problems.set(i, `${kind} ${target} is also written for ${jobs[owner]!.input}; rename one of the inputs`);
      claimed.set(key, i);
    }
    job.outputExists = targetIds[i]![0] !== undefined;
  }
  return { jobs, problems, smallInputs };
}

function formatScores(report: FileReport): string {
  const m = report.metrics;
  if (!m) return '';
  const ssim = (v: number | null) => (v === null ? 'n/a' : v.toFixed(4));
  return `\n    vs ${m.reference}: PSNR ${m.noisy.psnr.toFixed(2)} -> ${m.denoised.psnr.toFixed(2)} dB (${m.psnrGain >= 0 ? '+' : ''}${m.psnrGain.toFixed(2)}), SSIM ${ssim(m.noisy.ssim)} -> ${ssim(m.denoised.ssim)}`;
}

/** Runs `denoise` on `argv` (without node and script); resolves to the exit code: 0 all done, 1 any failure, 2 usage. */
export async function main(argv: string[], streams: CliStreams = { stdout: process.stdout, stderr: process.stderr }): Promise<number> {
  const { stdout, stderr } = streams;
  let usageError: string | undefined;
  // Everything after "--" is an input, even a name that starts with a dash (yargs would drop them).
  const split = argv.indexOf('--');
  const literalInputs = split < 0 ? [] : argv.slice(split + 1);
  const parser = yargs(split < 0 ? argv : argv.slice(0, split))
    .scriptName('denoise')
    .usage('$0 IN... [-o OUT] [options]\n\nDenoise images with an exported ONNX model (onnxruntime-node). IN: image files or folders of them (PNG, JPEG, WebP, TIFF, AVIF, GIF); OUT: a file (one input; its extension picks the format) or a folder. Without -o, each result is written beside its input as NAME.denoised.EXT.')
    .command('$0 [inputs..]', false)
    .positional('inputs', { type: 'string', array: true, describe: 'image files or folders' })
    .option('output', { alias: 'o', type: 'string', describe: 'output file (one input) or folder (default: NAME.denoised.EXT beside each input)' })
    .option('device', { type: 'string', default: 'auto', describe: `where to run: ${deviceNames(NODE_DEVICES).join(', ')} (auto tries ${NODE_DEVICES.autoOrder.join(', ')})` })
    .option('model', { type: 'string', describe: `a shipped model by name (${Object.keys(SHIPPED_MODELS).join(', ')}) or an ONNX file (default: ${DEFAULT_MODEL_NAME})` })
    .option('threads', { type: 'number', describe: `CPU threads for onnxruntime, and lanes for a large image's tiles (one session per thread, side by side) (default: one per core; one when every input file is under ${SMALL_INPUT_BYTES / 1024} KB, where a second thread only competes with the file work)` })
    .option('concurrency', { type: 'number', describe: `files in flight at once, so decoding and encoding overlap with inference (default: ${DEFAULT_CONCURRENCY}; ${SMALL_FILES_CONCURRENCY} for ${WORKER_MIN_FILES} or more files all under ${SMALL_INPUT_BYTES / 1024} KB, whose model runs are then batched on a thread of their own); above ${DEFAULT_CONCURRENCY}, at most ${MANY_FILES_PIXELS / 1e6} MP of images are in flight` })
    .option('tile', { type: 'number', default: 512, describe: 'tile side in pixels for large images, plus the overlap (0: whole image at once)' })
    .option('overlap', { type: 'number', describe: 'overlap between tiles in pixels (default: twice the receptive-field radius plus 2; 66 for a model that does not state its field)' })
    .option('sigma', { type: 'string', default: 'auto', describe: 'noise level in 8-bit levels (0-255) for models that take one (the default photo-denoiser): higher denoises more; auto estimates it per image' })
    .option('add-noise', { type: 'number', describe: 'add Gaussian noise of this standard deviation (0..1) first: a demo on clean images' })
    .option('seed', { type: 'number', default: 1, describe: 'seed for --add-noise' })
    .option('compare', { type: 'string', describe: 'write a side-by-side PNG (noisy, denoised, reference): a file, or a folder for several inputs' })
    .option('reference', { type: 'string', describe: 'clean image to score against (PSNR, SSIM): a file, or a folder matched by name' })
    .option('json', { type: 'boolean', default: false, describe: 'print one JSON report per file and a summary (JSON lines)' })
    .option('force', { type: 'boolean', default: false, describe: 'replace existing outputs (inputs are never replaced)' })
    .option('max-pixels', {
      type: 'number',
      default: DEFAULT_MAX_PIXELS,
      describe: 'refuse images with more pixels than this (checked from the file header before decoding). Near the default 100 MP an image costs about 0.55 GB of memory (8-bit grey) to 1.2 GB (8-bit RGB) per file in flight (see --concurrency), more at 16 bits, and tens of seconds on a CPU',
    })
    .option('progress', { type: 'boolean', default: true, describe: 'progress bar on a terminal (--no-progress to hide)' })
    .strict()
    .version(packageVersion())
    .help()
    .alias('h', 'help')
    .wrap(Math.min(110, (stdout as { columns?: number }).columns || 100))
    .exitProcess(false)
    .fail((message, error) => {
      if (error) throw error;
      usageError = message;
    });
  let args: Arguments;
  try {
    const parsed = await parser.parseAsync();
    if (usageError) {
      stderr.write(`error: ${usageError}\nRun "denoise --help" for usage.\n`);
      return 2;
    }
    if ((parsed as { help?: boolean; version?: boolean }).help || (parsed as { version?: boolean }).version) return 0;
    args = parsed as unknown as Arguments;
  } catch (error) {
    stderr.write(`error: ${(error as Error).message}\n`);
    return 2;
  }
  args.inputs = [...(args.inputs ?? []), ...literalInputs];
  if (args.inputs.length === 0) {
    stderr.write('error: Not enough non-option arguments: got 0, need at least 1 (an image file or folder)\nRun "denoise --help" for usage.\n');
    return 2;
  }

  let denoiser: RunDenoiser | undefined;
  let spare: Worker | undefined;
  try {
    if (args.output !== undefined) check(typeof args.output === 'string' && args.output.length > 0, 'an output file or folder', '--output', args.output);
    if (args.concurrency !== undefined) checkInteger(args.concurrency, '--concurrency', { min: 1, max: SMALL_FILES_CONCURRENCY });
    const maxPixels = checkInteger(args.maxPixels, '--max-pixels', { min: 1, max: MAX_PIXEL_LIMIT });
    if (args.threads !== undefined) checkInteger(args.threads, '--threads', { min: 1, max: 1024 });
    checkInteger(args.tile, '--tile', { min: 0 });
    if (args.overlap !== undefined) checkInteger(args.overlap, '--overlap', { min: 0 });
    if (args.tile !== 0) checkInteger(args.tile, '--tile', { min: Math.max(16, 2 * (args.overlap ?? 0) + 1) });
    const settings: FileSettings = { force: args.force, maxPixels, limitName: '--max-pixels' };
    if (args.addNoise !== undefined) {
      settings.noise = { factor: checkNumber(args.addNoise, '--add-noise', { min: 0, max: 1 }), seed: checkInteger(args.seed, '--seed', { min: 0, max: 2 ** 32 - 1 }) };
    }
    // Runs that may be many small files start the model's thread before planning them, so that it loads meanwhile
    // (cli.ts may have started it earlier still). Ended in `finally` unless a WorkerDenoiser takes it.
    spare = mayBeManyFiles(args.inputs) && inferenceThreadAvailable() ? takeInferenceThread() : undefined;
    const { jobs, problems, smallInputs } = await planJobs(args);
    // Small images: a run is too short to split, and a second onnxruntime thread competes with the file work
    // (1000 28x28 PNGs: 0.79 to 0.90 s with one thread against 0.97 to 1.17 s with two, six pairs).
    const threads = args.threads ?? (smallInputs ? 1 : undefined);
    if (jobs.length === 0) throw invalid(`image files (${IMAGE_EXTENSIONS.join(', ')})`, 'inputs', described(`none in ${args.inputs.join(', ')}`));

    const onThread = smallInputs && jobs.length >= WORKER_MIN_FILES && spare !== undefined;
    if (!onThread) {
      await spare?.terminate();
      spare = undefined;
    }
    const concurrency = args.concurrency ?? (onThread ? SMALL_FILES_CONCURRENCY : DEFAULT_CONCURRENCY);
    if (concurrency > DEFAULT_CONCURRENCY) settings.budget = new PixelBudget(MANY_FILES_PIXELS);
    const options = {
      model: args.model,
      device: args.device as NodeDevice,
      ...(threads !== undefined ? { threads } : {}),
      tile: args.tile,
      ...(args.overlap !== undefined ? { overlap: args.overlap } : {}),
      sigma: parseSigma(args.sigma),
    };
    const names = { device: '--device', model: '--model', sigma: '--sigma' };
    // The library (and onnxruntime with it) loads here only when the model runs on this thread.
    const prestarted = spare;
    spare = undefined;
    // On this thread the files are photos (or few): each tile shape runs a few times, which never pays for the memory
    // pattern, and large PNGs are compressed on the thread pool while the model runs, which spinning threads would slow.
    const inProcess = () => import('./denoiser.js').then((library) => library.createDenoiser(options, names, { memoryPattern: false, spinning: false }));
    // A thread that cannot run here (not the model: its errors are the run's) leaves the model on this thread.
    const opening: Promise<RunDenoiser> = onThread ? WorkerDenoiser.open(options, names, prestarted).catch((error) => (error instanceof ThreadFailure ? inProcess() : Promise.reject(error))) : inProcess();
    // Files are read and decoded while the model opens (a 16 MP PNG takes longer to decode than a session to
    // open); each waits for the model before its run, so nothing is written, and nothing printed before the
    // first line, until it is open. A model that fails to open is one error for the run.
    const waiting: ImageDenoiser = {
      denoise: async (image, options) => (await opening).denoise(image, options),
      // Told at a header, which may come before the model is open: passed on once it is.
      prepare: (width, height, channels) => void opening.then((denoiser) => denoiser.prepare?.(width, height, channels), () => undefined),
    };
    let openFailed = false;
    let headerDone!: () => void;
    const header = new Promise<void>((resolve) => (headerDone = resolve));
    let bar: { increment(): void } | undefined;
    let say = (text: string, toStderr = false): void => {
      (toStderr ? stderr : stdout).write(`${text}\n`);
    };

    const reports: FileReport[] = new Array(jobs.length);
    let done = 0;
    let next = 0;
    const started = performance.now();
    const worker = async () => {
      while (next < jobs.length && !openFailed) {
        const index = next++;
        const job = jobs[index]!;
        const problem = problems.get(index);
        const report: FileReport = problem ? { input: job.input, output: job.output, ok: false, error: problem } : await denoiseFile(waiting, job, settings);
        await header;
        if (openFailed) return;
        reports[index] = report;
        done++;
        bar?.increment();
        const counter = jobs.length > 1 ? `[${done}/${jobs.length}] ` : '';
        if (args.json) stdout.write(`${JSON.stringify({ type: 'file', ...report })}\n`);
        if (report.ok) {
          const notes = report.notes?.length ? ` (${report.notes.join('; ')})` : '';
          const line = `${counter}${report.input} -> ${report.output}: ${describeImage(report)}, ${report.seconds} s${notes}${formatScores(report)}`;
          if (args.json) stderr.write(`${line}\n`);
          else say(line);
        } else {
          say(`${counter}error: ${report.error}`, true);
        }
      }
    };
    const files = Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
    try {
      denoiser = await opening;
    } catch (error) {
      openFailed = true;
      headerDone();
      await files;
      throw error;
    }
    const skipped = denoiser.skipped.length ? ` (auto skipped ${denoiser.skipped.join('; ')})` : '';
    const oneThread = args.threads === undefined && threads === 1 && denoiser.device === 'cpu' ? `, one onnxruntime thread (every input is under ${SMALL_INPUT_BYTES / 1024} KB)` : '';
    const ownThread = denoiser instanceof WorkerDenoiser ? ', model runs batched on a thread of their own' : '';
    stderr.write(`denoise: ${jobs.length} file${jobs.length === 1 ? '' : 's'} on ${denoiser.device}${skipped}${oneThread}${ownThread}, model ${denoiser.model.source}\n`);
    // What the runtime assumes about the model (a receptive field it does not state): the library reports, the CLI tells.
    for (const warning of denoiser.model.warnings) stderr.write(`warning: ${warning}\n`);

    const useBar = args.progress && !args.json && jobs.length > 1 && stderr.isTTY === true;
    // cli-progress is loaded only when a bar is shown (it is not needed for one file or piped output).
    const cliProgress = useBar ? (await import('cli-progress')).default : undefined;
    const multibar = cliProgress
      ? new cliProgress.MultiBar({ stream: stderr as NodeJS.WriteStream, format: 'denoise [{bar}] {value}/{total} files | {eta_formatted} left', hideCursor: true, clearOnComplete: true }, cliProgress.Presets.shades_classic)
      : undefined;
    bar = multibar?.create(jobs.length, 0);
    if (multibar) say = (text: string) => multibar.log(`${text}\n`);
    headerDone();
    await files;
    // MultiBar.stop() drops lines logged since the last redraw: redraw once more first.
    multibar?.update();
    multibar?.stop();
    const failed = reports.filter((r) => !r.ok);
    const seconds = (performance.now() - started) / 1000;
    const summary = {
      type: 'summary',
      files: jobs.length,
      denoised: jobs.length - failed.length,
      failed: failed.length,
      device: denoiser.device,
      skippedDevices: denoiser.skipped,
      modelWarnings: denoiser.model.warnings,
      seconds: Number(seconds.toFixed(3)),
    };
    if (args.json) stdout.write(`${JSON.stringify(summary)}\n`);
    const failedList = failed.length ? `; ${failed.length} failed: ${failed.map((r) => r.input).join(', ')}` : '';
    stderr.write(`denoised ${summary.denoised} of ${jobs.length} file${jobs.length === 1 ? '' : 's'} in ${seconds.toFixed(2)} s on ${denoiser.device}${failedList}\n`);
    return failed.length ? 1 : 0;
  } catch (error) {
    if (error instanceof ValidationError) stderr.write(`error: ${error.message}\n`);
    else stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    return 1;
  } finally {
    await spare?.terminate();
    await denoiser?.dispose();
  }
}
