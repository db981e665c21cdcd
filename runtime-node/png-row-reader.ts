// A large plain PNG decoded row by row as node:zlib inflates it on the thread pool, so that a denoiser can start on its first rows while the rest decodes.
import { createInflate } from 'node:zlib';
import type { FilePixels } from './image-file.js';
import { idatChunks, type PlainPngHeader, unfilterRow, ZLIB_PIECE_BYTES } from './png-fast.js';

/**
 * Decodes a PNG that plainPngHeader accepted into {@link PngRowReader.image}, top to bottom: node:zlib inflates the
 * IDAT chunks on the thread pool (checking the zlib stream's Adler-32) and each whole row's filter is undone here
 * as it arrives. sharp cannot hand over rows before its whole image is decoded (libvips writes raw output to memory
 * in one piece); a 4096x4096 grey PNG took it 0.1 to 0.3 s, during which the model waited.
 */
export class PngRowReader {
  /** The image, allocated whole and filled in top to bottom; rows below {@link rows} are not decoded yet. */
  readonly image: FilePixels;
  /** Resolves once every row is in and the stream's checksum matched; rejects with why the data is damaged. */
  readonly done: Promise<void>;
  #rows = 0;
  #failure: Error | undefined;
  #waiters: { end: number; resolve: () => void; reject: (error: Error) => void }[] = [];

  /**
   * Starts decoding `bytes` (a whole PNG file) as `header` describes it; `failure` makes the error that {@link done}
   * and waiters reject with from why the data is damaged (default: an Error with that text).
   */
  constructor(bytes: Uint8Array, header: PlainPngHeader, failure: (why: string) => Error = (why) => new Error(why)) {
    const { width, height, depth, channels } = header;
    const samples = width * height * channels;
    this.image = { data: depth === 8 ? new Uint8Array(samples) : new Uint16Array(samples), width, height, channels } as FilePixels;
    const pixelBytes = (channels * depth) / 8;
    const rowBytes = width * pixelBytes;
    // One filtered row (its filter byte, then its bytes) gathered across output chunks when it spans two.
    const pending = new Uint8Array(rowBytes + 1);
    let pendingBytes = 0;
    // 16-bit rows are unfiltered in bytes (two rows: this one and the one above), then stored as samples.
    let row = depth === 16 ? new Uint8Array(rowBytes) : undefined;
    let above = depth === 16 ? new Uint8Array(rowBytes) : undefined;
    const eight = this.image.data instanceof Uint8Array ? this.image.data : undefined;
    const unfilter = (raw: Uint8Array, from: number) => {
      const y = this.#rows;
      if (eight) {
        unfilterRow(raw, from, eight, y * rowBytes, y > 0 ? eight : undefined, (y - 1) * rowBytes, rowBytes, pixelBytes, y);
      } else {
        unfilterRow(raw, from, row!, 0, y > 0 ? above : undefined, 0, rowBytes, pixelBytes, y);
        const data = this.image.data as Uint16Array;
        const at = y * width * channels;
        // Samples are big-endian in the file.
        for (let i = 0; i < rowBytes / 2; i++) data[at + i] = (row![2 * i]! << 8) | row![2 * i + 1]!;
        [row, above] = [above, row];
      }
      this.#rows = y + 1;
    };
    const inflate = createInflate({ chunkSize: ZLIB_PIECE_BYTES });
    this.done = new Promise<void>((resolve, reject) => {
      const fail = (why: string) => {
        if (this.#failure) return;
        const error = failure(why);
        this.#failure = error;
        inflate.destroy();
        for (const waiter of this.#waiters.splice(0)) waiter.reject(error);
        reject(error);
      };
      inflate.on('data', (chunk: Buffer) => {
        if (this.#failure) return;
        try {
          let at = 0;
          if (pendingBytes > 0) {
            const take = Math.min(chunk.length, rowBytes + 1 - pendingBytes);
            pending.set(chunk.subarray(0, take), pendingBytes);
            pendingBytes += take;
            at = take;
            if (pendingBytes < rowBytes + 1) return;
            pendingBytes = 0;
            if (this.#rows === height) throw new Error(`PNG image data holds more rows than the ${height} its header states`);
            unfilter(pending, 0);
          }
          for (; at + rowBytes + 1 <= chunk.length; at += rowBytes + 1) {
            if (this.#rows === height) throw new Error(`PNG image data holds more rows than the ${height} its header states`);
            unfilter(chunk, at);
          }
          if (at < chunk.length) {
            pending.set(chunk.subarray(at), 0);
            pendingBytes = chunk.length - at;
          }
          this.#wake();
        } catch (error) {
          fail((error as Error).message);
        }
      });
      inflate.on('error', (error) => fail(`PNG image data: ${error.message}`));
      inflate.on('end', () => {
        if (this.#rows < height || pendingBytes > 0) fail(`PNG image data ends after ${this.#rows} of its ${height} rows`);
        else resolve();
      });
    });
    // A reader nobody waits on (its denoiser failed first) must not raise an unhandled rejection.
    this.done.catch(() => undefined);
    // Writes of about ZLIB_PIECE_BYTES, IDAT chunks grouped: one copy of all the data would add the file's size to
    // the peak memory.
    let group: Uint8Array[] = [];
    let grouped = 0;
    const flush = () => {
      if (group.length > 0) inflate.write(group.length === 1 ? group[0]! : Buffer.concat(group));
      group = [];
      grouped = 0;
    };
    for (const data of idatChunks(bytes)) {
      group.push(data);
      grouped += data.length;
      if (grouped >= ZLIB_PIECE_BYTES) flush();
    }
    flush();
    inflate.end();
  }

  /** Rows decoded so far (rows 0 to rows - 1 of {@link image} are final). */
  get rows(): number {
    return this.#rows;
  }

  /** Resolves once rows 0 to `end` - 1 are decoded; rejects with why the data is damaged, if it is, before. */
  waitForRows = (end: number): Promise<void> => {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#rows >= Math.min(end, this.image.height)) return Promise.resolve();
    return new Promise((resolve, reject) => this.#waiters.push({ end, resolve, reject }));
  };

  /** Resolves the waiters whose rows are in. */
  #wake(): void {
    if (this.#waiters.length === 0) return;
    const rows = this.#rows;
    this.#waiters = this.#waiters.filter((waiter) => {
      if (rows < Math.min(waiter.end, this.image.height)) return true;
      waiter.resolve();
      return false;
    });
  }
}
