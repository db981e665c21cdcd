// A Denoiser on its own thread for `denoise` runs over many small files: the main thread reads, decodes, encodes and writes while the model runs beside it.
import type { Worker } from 'node:worker_threads';
import { type PixelImage, type RowWaiter, type SameKind, ValidationError } from 'onnx-denoiser-common';
import type { ArgumentNames, DenoiserOptions } from './denoiser.js';
import { takeInferenceThread } from './early-thread.js';
import { whileRunning } from './thread-settle.js';

/** An error as it crosses threads: a ValidationError keeps its argument (so the CLI prints it without a stack). */
export interface SentError {
  name: string;
  message: string;
  argument?: string;
  stack?: string;
}

/**
 * Main thread -> worker: first `open` (the options and argument names for `createDenoiser`, and `stop`, set to 1 once
 * the thread must start no more batches), then batches, then `close`.
 */
export type WorkerRequest = { type: 'open'; options: DenoiserOptions; names: ArgumentNames; stop: Int32Array } | { type: 'batch'; id: number; images: PixelImage[] } | { type: 'close' };

/** The error of images a stopped thread did not denoise. */
export const THREAD_STOPPED = 'the inference thread was stopped';

/** Worker -> main thread. */
export type WorkerReply =
  | { type: 'ready'; device: string; skipped: readonly string[]; source: string; warnings: readonly string[] }
  | { type: 'failed'; error: SentError }
  | { type: 'results'; id: number; results: ({ image: PixelImage } | { error: SentError })[] };

/** Most batches sent and not yet answered: one running, one waiting, so the thread never idles for a round trip. */
const MAX_BATCHES_OUT = 2;

/**
 * Most images in one batch: a 28x28 model run costs about 110 us alone and 60 per image in batches of 16 or more.
 * Batches of all the files in flight (32 then) left the two threads taking turns; with more files in flight than two
 * batches hold, the main thread has files to work on meanwhile.
 */
const MAX_BATCH_IMAGES = 32;

/** The thread itself failed or ended (not the Denoiser it opens): a run can go on without it, on its own thread. */
export class ThreadFailure extends Error {
  override name = 'ThreadFailure';
}

/** An error received from the thread, rebuilt: ValidationError (with its argument) or Error, with the thread's stack. */
export function receivedError(sent: SentError): Error {
  const error = sent.argument === undefined ? new Error(sent.message) : new ValidationError(sent.message, sent.argument);
  if (sent.name !== error.name) Object.defineProperty(error, 'name', { value: sent.name });
  if (sent.stack) error.stack = sent.stack;
  return error;
}

/** An error made ready to cross threads. */
export function sentError(error: unknown): SentError {
  const e = error instanceof Error ? error : new Error(String(error));
  return { name: e.name, message: e.message, ...(e instanceof ValidationError ? { argument: e.argument } : {}), ...(e.stack ? { stack: e.stack } : {}) };
}

interface Pending {
  image: PixelImage;
  resolve: (image: PixelImage) => void;
  reject: (error: Error) => void;
}

/**
 * The part of a Denoiser a `denoise` run uses, served by a worker thread. Requests made in one turn of the event
 * loop are sent together as batches (the library's `denoiseBatch` stacks same-size images into one model run), at
 * most MAX_BATCHES_OUT at a time; what comes meanwhile waits for a free slot.
 */
export class WorkerDenoiser {
  readonly #worker: Worker;
  readonly #queue: Pending[] = [];
  readonly #out = new Map<number, Pending[]>();
  #nextId = 0;
  #stopped: Error | undefined;
  #flushing = false;
  /** Set to 1 (shared with the thread) once it must start no more batches. */
  readonly #stopFlag: Int32Array;
  /** Called once no batch is out, while settling. */
  #drained: (() => void) | undefined;

  private constructor(
    worker: Worker,
    stop: Int32Array,
    /** The device the thread's Denoiser runs on. */
    readonly device: string,
    /** Devices `auto` skipped, with the reason for each. */
    readonly skipped: readonly string[],
    /** Where the model came from and what the runtime assumes about it. */
    readonly model: { source: string; warnings: readonly string[] },
  ) {
    this.#worker = worker;
    this.#stopFlag = stop;
    const forget = whileRunning(() => this.#settle());
    worker.on('message', (reply: WorkerReply) => this.#receive(reply));
    worker.on('error', (error) => this.#stop(new ThreadFailure(`the inference thread failed: ${error.message}`)));
    worker.on('exit', (code) => {
      forget();
      this.#stop(new ThreadFailure(`the inference thread exited (code ${code})`));
    });
  }

  /** Starts no more batches (the thread answers those it has not started at once) and resolves once none is running. */
  async #settle(): Promise<void> {
    Atomics.store(this.#stopFlag, 0, 1);
    const answered = new Promise<void>((resolve) => (this.#drained = resolve));
    for (const pending of this.#queue.splice(0)) pending.reject(new Error(THREAD_STOPPED));
    if (this.#out.size > 0 && !this.#stopped) await answered;
  }

  /**
   * Opens the Denoiser on a thread (one from takeInferenceThread, or a new one); rejects with the error
   * `createDenoiser` threw there, or a {@link ThreadFailure} when the thread itself could not run.
   */
  static open(options: DenoiserOptions, names: ArgumentNames, thread?: Worker): Promise<WorkerDenoiser> {
    const worker = thread ?? takeInferenceThread();
    const stop = new Int32Array(new SharedArrayBuffer(4));
    worker.postMessage({ type: 'open', options, names, stop } satisfies WorkerRequest);
    // While the thread opens its model it is inside onnxruntime: an exit then waits for it (see settleThreads).
    let opened!: () => void;
    const open = new Promise<void>((resolve) => (opened = resolve));
    const forget = whileRunning(() => open);
    return new Promise((resolve, reject) => {
      const fail = (error: Error) => {
        forget();
        opened();
        void worker.terminate();
        reject(error);
      };
      const failed = (error: Error) => fail(new ThreadFailure(`the inference thread failed: ${error.message}`));
      const exited = (code: number) => fail(new ThreadFailure(`the inference thread exited (code ${code}) before its model opened`));
      worker.once('error', failed);
      worker.once('exit', exited);
      worker.once('message', (reply: WorkerReply) => {
        // Only these listeners go: removeAllListeners would also drop the ones Worker itself keeps.
        worker.off('error', failed);
        worker.off('exit', exited);
        if (reply.type === 'ready') {
          forget();
          opened();
          resolve(new WorkerDenoiser(worker, stop, reply.device, reply.skipped, { source: reply.source, warnings: reply.warnings }));
        }
        else fail(reply.type === 'failed' ? receivedError(reply.error) : new Error(`the inference thread answered ${reply.type} before it was ready`));
      });
    });
  }

  /** Denoises one image on the thread (the image is copied there and the result back; one still being filled in once it is whole). */
  denoise<I extends PixelImage>(image: I, options?: { waitForRows?: RowWaiter }): Promise<SameKind<I>> {
    if (options?.waitForRows) return options.waitForRows(image.height).then(() => this.denoise(image));
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise<SameKind<I>>((resolve, reject) => {
      this.#queue.push({ image, resolve: resolve as (image: PixelImage) => void, reject });
      // Requests made in one turn of the event loop go as one batch: a thread's results let many files go on at once.
      if (!this.#flushing) {
        this.#flushing = true;
        setImmediate(() => {
          this.#flushing = false;
          this.#send();
        });
      }
    });
  }

  /** Closes the thread's Denoiser and ends the thread (ended by force if it has not within 2 s). */
  async dispose(): Promise<void> {
    if (this.#stopped) return;
    const exited = new Promise((resolve) => this.#worker.once('exit', resolve));
    this.#worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const guard = setTimeout(() => void this.#worker.terminate(), 2000);
    guard.unref();
    await exited;
    clearTimeout(guard);
  }

  /** Sends what is queued, as batches, while fewer than MAX_BATCHES_OUT are out. */
  #send(): void {
    if (Atomics.load(this.#stopFlag, 0) === 1) {
      for (const pending of this.#queue.splice(0)) pending.reject(new Error(THREAD_STOPPED));
      if (this.#out.size === 0) this.#drained?.();
      return;
    }
    while (this.#queue.length > 0 && this.#out.size < MAX_BATCHES_OUT) {
      const batch = this.#queue.splice(0, MAX_BATCH_IMAGES);
      const id = this.#nextId++;
      this.#out.set(id, batch);
      this.#worker.postMessage({ type: 'batch', id, images: batch.map((p) => p.image) } satisfies WorkerRequest);
    }
  }

  #receive(reply: WorkerReply): void {
    if (reply.type !== 'results') return;
    const batch = this.#out.get(reply.id);
    this.#out.delete(reply.id);
    batch?.forEach((pending, i) => {
      const result = reply.results[i]!;
      if ('image' in result) pending.resolve(result.image);
      else pending.reject(receivedError(result.error));
    });
    // What waited for a free slot goes now; requests this turn makes go with the flush it schedules.
    this.#send();
  }

  #stop(error: Error): void {
    this.#stopped ??= error;
    for (const batch of this.#out.values()) for (const pending of batch) pending.reject(error);
    for (const pending of this.#queue.splice(0)) pending.reject(error);
    this.#out.clear();
    this.#drained?.();
  }
}
