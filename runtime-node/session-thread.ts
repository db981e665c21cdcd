// One lane of a SessionPool: opens the model's session on this thread, runs what the main thread sends one run at a time, and on `close` releases the session and ends.
import { parentPort, workerData } from 'node:worker_threads';
import type { ModelOutput } from 'onnx-denoiser-common';
import { NODE_BACKEND } from './ort-session.js';
import { type LaneReply, type LaneRequest, type LaneSetup, ownBuffer, STOPPED } from './session-pool.js';

const port = parentPort!;
const send = (reply: LaneReply, transfer: ArrayBuffer[] = []) => port.postMessage(reply, transfer);
const { bytes, options, settings, stop } = workerData as LaneSetup;

let session: Awaited<ReturnType<typeof NODE_BACKEND.createSession>>;
try {
  session = await NODE_BACKEND.createSession(bytes, options, settings);
} catch (error) {
  send({ type: 'failed', message: (error as Error)?.message ?? String(error) });
  process.exit(0);
}
send({ type: 'ready' });

/** Makes one run and answers it: its output, onnxruntime's error, or STOPPED once the pool has stopped. */
async function run({ id, feeds, outputName }: Extract<LaneRequest, { type: 'run' }>): Promise<void> {
  if (Atomics.load(stop, 0) === 1) {
    send({ type: 'error', id, message: STOPPED });
    return;
  }
  try {
    const tensors: Record<string, unknown> = {};
    for (const feed of feeds) tensors[feed.name] = NODE_BACKEND.tensor(feed.data, feed.dims);
    const result: ModelOutput = (await session.run(tensors))[outputName]!;
    const { data } = result;
    if (!ArrayBuffer.isView(data)) {
      send({ type: 'output', id, output: { data, dims: [...result.dims] } });
      return;
    }
    // A typed array goes back moved, not copied (the main thread checks its type and values).
    const output = { data: ownBuffer(data as Float32Array), dims: [...result.dims] };
    send({ type: 'output', id, output }, [output.data.buffer as ArrayBuffer]);
  } catch (error) {
    send({ type: 'error', id, message: (error as Error)?.message ?? String(error) });
  }
}

// One run at a time, in the order sent; `close` waits for the runs before it.
let queue = Promise.resolve();
port.on('message', (request: LaneRequest) => {
  queue = queue.then(async () => {
    if (request.type === 'run') return run(request);
    await session.release();
    port.close();
  });
});
