// Sessions side by side for the CPU provider: one per lane, each on a thread of its own, so that the tiles of a large image and the parts of a large batch run at once instead of one by one across onnxruntime's intra-op threads.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { BaseSessionOptions, ModelOutput, NamedTensor, ParallelRuns, PooledRuns } from 'onnx-denoiser-common';
import { threadExecArgv } from './early-thread.js';
import { whileRunning } from './thread-settle.js';
import type { NodeSessionSettings } from './ort-session.js';

/** The lanes' script: compiled JavaScript beside this module. */
const THREAD_FILE = new URL('./session-thread.js', import.meta.url);

/**
 * Most lanes a pool starts, whatever the thread count; beyond it each lane gets several intra-op threads. Each lane
 * holds a session and its buffers: through the CLI, two lanes added 240 MB of peak RSS for a 4096x4096 PNG through
 * noise-reducer and 370 MB for a 2400x1500 photo through photo-denoiser (2026-12-08), so four keep a 50 MP image
 * through noise-reducer under 1 GB. Not measured on a machine with more than two cores.
 */
export const MAX_LANES = 4;

/** What a lane's thread opens: the model, the session options and the lane's own settings (its intra-op threads). */
export interface LaneSetup {
  bytes: Uint8Array;
  options: BaseSessionOptions;
  settings: NodeSessionSettings;
  /** Set to 1 by the main thread when the pool stops: runs not yet started are then answered without running. */
  stop: Int32Array;
}

/** Main thread -> lane: one run, or `close` (after the runs sent before it: release the session and end the thread). */
export type LaneRequest = { type: 'run'; id: number; feeds: NamedTensor[]; outputName: string } | { type: 'close' };

/** The error of runs a stopped pool did not make. */
export const STOPPED = 'the session pool was released';

/** Lane -> main thread: its session opened (or not), then each run's output or error. */
export type LaneReply = { type: 'ready' } | { type: 'failed'; message: string } | { type: 'output'; id: number; output: ModelOutput } | { type: 'error'; id: number; message: string };

/** How many runs went where, for tests and benchmarks. */
export interface PoolCounts {
  /** Runs the lanes' sessions made. */
  lanes: number;
  /** Runs handed to the session opened on this thread (while no lane was ready, or after the pool failed). */
  fallback: number;
}

interface Job {
  feeds: readonly NamedTensor[];
  outputName: string;
  resolve: (output: ModelOutput) => void;
  reject: (error: Error) => void;
}

interface Lane {
  worker: Worker;
  ready: boolean;
  exited: boolean;
  /** Resolves once the lane's session is open, or failed to, or the thread ended: it is not inside onnxruntime then. */
  up: Promise<void>;
  settleUp: () => void;
  /** Runs sent to the lane and not answered, oldest first (it runs them in that order); `settled` once answered. */
  jobs: { id: number; job: Job; settled: Promise<void>; answered: () => void }[];
}

/**
 * Runs sent to a lane at once: one running and one waiting in its message queue, so that a lane goes on at once
 * instead of waiting for this thread (busy with pixels, decoding, encoding) to hear it finish and send the next.
 */
const LANE_DEPTH = 2;

/** Whether the lanes' script is there (it is in the built package; tests that run the TypeScript sources have none). */
export function laneThreadAvailable(): boolean {
  return existsSync(fileURLToPath(THREAD_FILE));
}

/**
 * A typed array as it should cross between threads: itself where it owns its buffer (it can then be moved), else a
 * copy (cloning or moving a view would take the whole buffer).
 */
export function ownBuffer<T extends Float32Array | Uint8Array>(data: T): T {
  return (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength ? data : data.slice()) as T;
}

/**
 * `lanes` sessions of one model, each on a thread of its own, started on the first run (or by {@link start}). Runs go to a free lane
 * (queued while none is); until a lane is ready `fallback` (the session opened on this thread) takes them from the
 * queue one at a time, and once a lane fails it takes them all, so a run never waits for threads to start and never
 * fails because of one. Idle lanes do not keep the process alive (lanes opening their sessions do). Lanes are never terminated: a thread ended inside onnxruntime aborts the process
 * (see settleThreads); they finish the run they are in and end themselves.
 */
export class SessionPool implements PooledRuns {
  readonly lanes: number;
  readonly #setup: LaneSetup;
  readonly #fallback: ParallelRuns['run'];
  readonly #queue: Job[] = [];
  readonly #counts: PoolCounts = { lanes: 0, fallback: 0 };
  #threads: Lane[] | undefined;
  #failure: string | undefined;
  #released = false;
  /** Whether the session on this thread is making a run taken from the queue (see #dispatch). */
  #hereBusy = false;
  #nextId = 0;
  /** Unregisters the pool from settleThreads once its lanes have ended. */
  #forget: (() => void) | undefined;

  constructor(lanes: number, setup: Omit<LaneSetup, 'stop'>, fallback: ParallelRuns['run']) {
    this.lanes = lanes;
    this.#setup = { ...setup, bytes: ownBuffer(setup.bytes), stop: new Int32Array(new SharedArrayBuffer(4)) };
    this.#fallback = fallback;
  }

  /** Runs the model on a lane (see the class). */
  run(feeds: readonly NamedTensor[], outputName: string): Promise<ModelOutput> {
    if (this.#released) return Promise.reject(new Error(STOPPED));
    this.start();
    if (this.#failure !== undefined) return this.#runHere(feeds, outputName);
    return new Promise((resolve, reject) => {
      this.#queue.push({ feeds, outputName, resolve, reject });
      this.#dispatch();
    });
  }

  /** Starts the lanes' threads now (the first run does otherwise). */
  start(): void {
    if (!this.#released) this.#threads ??= this.#start();
  }

  /** How many runs went to the lanes and to the fallback so far. */
  get counts(): Readonly<PoolCounts> {
    return { ...this.#counts };
  }

  /** Why the lanes stopped taking runs, or undefined while they work. */
  get failure(): string | undefined {
    return this.#failure;
  }

  /**
   * Ends the lanes: runs waiting for a lane reject, and so do those sent to one that has not started them; a run a
   * lane is making finishes first. Resolves once every lane's thread has ended.
   */
  async release(): Promise<void> {
    if (this.#released) return;
    await this.stop();
    const exits = (this.#threads ?? []).map((lane) => new Promise((resolve) => (lane.exited ? resolve(undefined) : lane.worker.once('exit', resolve))));
    for (const lane of this.#threads ?? []) {
      if (lane.exited) continue;
      // Held until it has ended, so that the process waits for that (an unref'd lane left alone ends with it).
      lane.worker.ref();
      lane.worker.postMessage({ type: 'close' } satisfies LaneRequest);
    }
    await Promise.all(exits);
    this.#forget?.();
  }

  /** Stops the pool (see {@link release}) and resolves once no lane is inside onnxruntime: opening its session or making a run. */
  async stop(): Promise<void> {
    this.#released = true;
    Atomics.store(this.#setup.stop, 0, 1);
    for (const job of this.#queue.splice(0)) job.reject(new Error(STOPPED));
    await Promise.all((this.#threads ?? []).flatMap((lane) => [lane.up, ...lane.jobs.map(({ settled }) => settled)]));
  }

  #runHere(feeds: readonly NamedTensor[], outputName: string): Promise<ModelOutput> {
    this.#counts.fallback++;
    return this.#fallback(feeds, outputName);
  }

  #start(): Lane[] {
    this.#forget = whileRunning(() => this.stop());
    return Array.from({ length: this.lanes }, () => {
      const worker = new Worker(THREAD_FILE, { execArgv: threadExecArgv(), workerData: this.#setup });
      let settleUp!: () => void;
      const up = new Promise<void>((resolve) => (settleUp = resolve));
      const lane: Lane = { worker, ready: false, exited: false, up, settleUp, jobs: [] };
      worker.on('message', (reply: LaneReply) => this.#receive(lane, reply));
      worker.on('error', (error) => this.#fail(lane, `a lane's thread failed: ${error.message}`));
      worker.on('exit', (code) => {
        lane.exited = true;
        lane.settleUp();
        this.#fail(lane, `a lane's thread exited (code ${code})`);
      });
      // Held while it opens its session (a process that ended then would end the thread inside onnxruntime, which
      // aborts it); unref'd once up and idle (after the listeners: adding a 'message' listener holds its port again).
      return lane;
    });
  }

  #receive(lane: Lane, reply: LaneReply): void {
    if (reply.type === 'ready') {
      lane.ready = true;
      lane.settleUp();
      this.#dispatch();
      if (lane.jobs.length === 0) lane.worker.unref();
      return;
    }
    if (reply.type === 'failed') {
      lane.settleUp();
      this.#fail(lane, `a lane's session did not open: ${reply.message}`);
      return;
    }
    const current = lane.jobs[0];
    if (!current || current.id !== reply.id) return;
    lane.jobs.shift();
    current.answered();
    if (lane.jobs.length === 0) lane.worker.unref();
    if (reply.type === 'output') {
      this.#counts.lanes++;
      current.job.resolve(reply.output);
    } else current.job.reject(new Error(reply.message));
    this.#dispatch();
  }

  /**
   * Hands queued runs to ready lanes, the least busy first, up to LANE_DEPTH each; while no lane is ready, the session
   * on this thread takes them one at a time (so runs queued meanwhile still go to the lanes once one is up).
   */
  #dispatch(): void {
    while (this.#queue.length > 0) {
      let lane: Lane | undefined;
      for (const l of this.#threads ?? []) if (l.ready && l.jobs.length < LANE_DEPTH && (!lane || l.jobs.length < lane.jobs.length)) lane = l;
      if (!lane) {
        if (!this.#hereBusy && !this.#threads?.some((l) => l.ready)) {
          const job = this.#queue.shift()!;
          this.#hereBusy = true;
          const done = () => {
            this.#hereBusy = false;
            this.#dispatch();
          };
          this.#runHere(job.feeds, job.outputName).then(job.resolve, job.reject).then(done, done);
        }
        return;
      }
      const job = this.#queue.shift()!;
      const id = this.#nextId++;
      let answered!: () => void;
      const settled = new Promise<void>((resolve) => (answered = resolve));
      lane.jobs.push({ id, job, settled, answered });
      lane.worker.ref();
      const request: LaneRequest = { type: 'run', id, feeds: job.feeds.map((feed) => ({ name: feed.name, data: ownBuffer(feed.data), dims: feed.dims })), outputName: job.outputName };
      lane.worker.postMessage(request);
    }
  }

  /**
   * Stops using the lanes after `failed` failed: its runs and the queued ones go to the fallback, and so do later
   * ones; the other lanes answer the runs they have and end.
   */
  #fail(failed: Lane, reason: string): void {
    const jobs = failed.jobs.splice(0);
    for (const { answered } of jobs) answered();
    if (!failed.exited) failed.worker.unref();
    if (this.#released) {
      for (const { job } of jobs) job.reject(new Error(STOPPED));
      return;
    }
    const first = this.#failure === undefined;
    this.#failure ??= reason;
    for (const job of [...jobs.map(({ job }) => job), ...this.#queue.splice(0)]) this.#runHere(job.feeds, job.outputName).then(job.resolve, job.reject);
    if (first) for (const lane of this.#threads ?? []) if (lane !== failed && !lane.exited) lane.worker.postMessage({ type: 'close' } satisfies LaneRequest);
  }
}
