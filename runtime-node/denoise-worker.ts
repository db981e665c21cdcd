// The inference thread of a WorkerDenoiser: loads the library at once, opens a Denoiser with the options the main thread sends, then denoises its batches.
import { parentPort } from 'node:worker_threads';
import type { PixelImage } from 'onnx-denoiser-common';
import type { Denoiser } from './denoiser.js';
import { sentError, THREAD_STOPPED, type WorkerReply, type WorkerRequest } from './worker-denoiser.js';

const port = parentPort!;
const send = (reply: WorkerReply) => port.postMessage(reply);

/** Each image's result or error: one batched call, and one call per image only when that fails (one bad image fails alone). */
async function denoiseEach(denoiser: Denoiser, images: PixelImage[]): Promise<({ image: PixelImage } | { error: ReturnType<typeof sentError> })[]> {
  try {
    return (await denoiser.denoiseBatch(images)).map((image) => ({ image }));
  } catch {
    return Promise.all(images.map((image) => denoiser.denoise(image).then((out) => ({ image: out as PixelImage }), (error) => ({ error: sentError(error) }))));
  }
}

// Loading starts before the options arrive (the main thread is still planning its files then).
const library = import('./denoiser.js');
const { options, names, stop } = await new Promise<Extract<WorkerRequest, { type: 'open' }>>((resolve) => port.once('message', resolve));
let denoiser: Denoiser;
try {
  denoiser = await (await library).createDenoiser(options, names);
} catch (error) {
  send({ type: 'failed', error: sentError(error) });
  process.exit(0);
}
send({ type: 'ready', device: denoiser.device, skipped: denoiser.skipped, source: denoiser.model.source, warnings: denoiser.model.warnings });
port.on('message', async (request: WorkerRequest) => {
  if (request.type === 'open') return;
  if (request.type === 'close') {
    await denoiser.dispose();
    port.close();
    return;
  }
  // Once stopped (the process is about to exit), a batch is answered without running: see settleThreads.
  if (Atomics.load(stop, 0) === 1) {
    send({ type: 'results', id: request.id, results: request.images.map(() => ({ error: sentError(new Error(THREAD_STOPPED)) })) });
    return;
  }
  // The results are copied (not moved): their arrays may be views of the library's buffers, and small images copy in microseconds.
  send({ type: 'results', id: request.id, results: await denoiseEach(denoiser, request.images) });
});
