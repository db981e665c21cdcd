// Training kernels for TF.js's 'wasm' backend: the missing and slow convolution kernels, rebuilt on its own XNNPACK ops.
import { backend_util, getKernel, registerKernel, unregisterKernel } from '@tensorflow/tfjs-core';
import type { DataType, KernelConfig, KernelFunc, NamedAttrMap, TensorInfo } from '@tensorflow/tfjs-core';
import type { BackendWasm } from '@tensorflow/tfjs-backend-wasm';

/** The slice of `BackendWasm` these kernels use: tensor memory on the wasm heap and the heap itself. */
interface WasmBackendLike {
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: DataType): TensorInfo;
  disposeData(dataId: object, force?: boolean): boolean;
  wasm: { HEAPF32: Float32Array };
}

type Conv2DKernelInfo = backend_util.Conv2DInfo;
type PadAttr = 'valid' | 'same' | number | backend_util.ExplicitPadding;

interface ConvAttrs {
  strides: [number, number] | number;
  pad: PadAttr;
  dataFormat?: string;
  dimRoundingMode?: 'floor' | 'round' | 'ceil';
  dilations?: [number, number] | number;
}

/** The kernel function of a stock wasm kernel, captured before this module registers anything. */
type StockKernel = (args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }) => TensorInfo;

let stockConv2D: StockKernel | undefined;
let stockBatchMatMul: StockKernel | undefined;
let stockFusedConv2D: StockKernel | undefined;
let stockSum: StockKernel | undefined;

/** Names of the kernels {@link registerWasmTrainingKernels} registers for the 'wasm' backend, in registration order. */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze(['Conv2DBackpropFilter', 'Conv2DBackpropInput', 'Conv2D', 'FusedConv2D', 'Sum']);

function asWasm(backend: unknown): WasmBackendLike {
  return backend as BackendWasm as unknown as WasmBackendLike;
}

/** Float32 index of a tensor's first element on the wasm heap (the heap may move: read views after every allocation). */
function heapIndex(backend: WasmBackendLike, t: TensorInfo): number {
  const data = backend.dataIdMap.get(t.dataId);
  if (data === undefined) throw new Error('wasm training kernel: tensor data is not on the wasm backend');
  return data.memoryOffset >>> 2;
}

function checkFloat32(kernel: string, tensors: Record<string, TensorInfo>): void {
  for (const [name, t] of Object.entries(tensors)) {
    if (t.dtype !== 'float32') throw new Error(`wasm ${kernel}: expected a float32 ${name} but received ${t.dtype}`);
    if (t.shape.length !== 4) throw new Error(`wasm ${kernel}: expected a rank-4 ${name} but received shape [${t.shape.join(',')}]`);
  }
}

/** Rejects what these kernels do not implement, rather than computing a wrong answer. */
function checkAttrs(kernel: string, attrs: ConvAttrs): void {
  const format = attrs.dataFormat ?? 'NHWC';
  if (format !== 'NHWC' && format !== 'channelsLast') {
    throw new Error(`wasm ${kernel}: dataFormat '${format}' is not supported; use 'NHWC'`);
  }
  if (attrs.dilations !== undefined) {
    const [dh, dw] = typeof attrs.dilations === 'number' ? [attrs.dilations, attrs.dilations] : attrs.dilations;
    if (dh !== 1 || dw !== 1) throw new Error(`wasm ${kernel}: dilations [${dh},${dw}] are not supported; only 1`);
  }
  const [sh, sw] = typeof attrs.strides === 'number' ? [attrs.strides, attrs.strides] : attrs.strides;
  if (!(Number.isInteger(sh) && Number.isInteger(sw) && sh >= 1 && sw >= 1)) {
    throw new Error(`wasm ${kernel}: strides must be positive integers, got [${sh},${sw}]`);
  }
}

function convInfo(xShape: number[], filterShape: number[], attrs: ConvAttrs): Conv2DKernelInfo {
  return backend_util.computeConv2DInfo(
    xShape as [number, number, number, number],
    filterShape as [number, number, number, number],
    attrs.strides,
    1,
    attrs.pad,
    attrs.dimRoundingMode,
    false,
    'channelsLast',
  );
}

function runConv2D(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, pads: [number, number, number, number], dilations: [number, number]): TensorInfo {
  if (stockConv2D === undefined) throw new Error('wasm training kernels: the stock wasm Conv2D kernel was not found');
  const [top, bottom, left, right] = pads;
  const attrs = {
    strides: [1, 1],
    pad: [[0, 0], [top, bottom], [left, right], [0, 0]],
    dataFormat: 'NHWC',
    dilations,
    dimRoundingMode: undefined,
  } as unknown as NamedAttrMap;
  return stockConv2D({ inputs: { x, filter }, attrs, backend });
}

/** a [rows, k] x b [k, cols] on XNNPACK's fully-connected operator (the stock BatchMatMul's batch-1 path). */
function runMatMul(backend: WasmBackendLike, a: TensorInfo, b: TensorInfo, rows: number, k: number, cols: number): TensorInfo {
  if (stockBatchMatMul === undefined) throw new Error('wasm training kernels: the stock wasm BatchMatMul kernel was not found');
  const attrs = { transposeA: false, transposeB: false } as unknown as NamedAttrMap;
  return stockBatchMatMul({ inputs: { a: { ...a, shape: [1, rows, k] }, b: { ...b, shape: [1, k, cols] } }, attrs, backend });
}

/** XNNPACK's f32 GEMM works on tiles 8 outputs wide: the work done per useful multiply for `cols` outputs. */
function tileWaste(cols: number): number {
  return (Math.ceil(cols / 8) * 8) / cols;
}

/**
 * dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*sh+kh-pt, ow*sw+kw-pl, ci] * dy[n,oh,ow,co].
 * Two exact formulations, picked by a rough cost model (both run their multiplies on XNNPACK):
 * - as a stride-1 convolution with dilation (sh,sw): input x as [ci, H', W, N] (ci plays the batch, N the channels),
 *   filter dy as [OH, OW, N, co], output [ci, KH, KW, co]; good when co fills XNNPACK's 8-wide tiles;
 * - as a matrix product D x X, with X = x as [N*H*W, ci] and D [KH*KW*co, N*H*W] = dy scattered onto x's grid per tap;
 *   good when KH*KW*co is small (a 1-channel output layer) and D is cheap to write.
 */
function conv2DBackpropFilter(args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }): TensorInfo {
  const backend = asWasm(args.backend);
  const { x, dy } = args.inputs as { x: TensorInfo; dy: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { filterShape: number[] };
  checkAttrs('Conv2DBackpropFilter', attrs);
  checkFloat32('Conv2DBackpropFilter', { x, dy });
  const filterShape = attrs.filterShape;
  if (filterShape.length !== 4 || filterShape[2] !== x.shape[3]) {
    throw new Error(`wasm Conv2DBackpropFilter: filterShape [${filterShape.join(',')}] does not match x channels ${x.shape[3]}`);
  }
  const info = convInfo(x.shape, filterShape, attrs);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== co) {
    throw new Error(`wasm Conv2DBackpropFilter: dy shape [${dy.shape.join(',')}] does not match the expected [${info.outShape.join(',')}]`);
  }
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const out = backend.makeOutput([kh, kw, ci, co], 'float32');
  if (n * oh * ow === 0) {
    backend.wasm.HEAPF32.fill(0, heapIndex(backend, out), heapIndex(backend, out) + kh * kw * ci * co);
    return out;
  }
  // Rows/cols of x the convolution can reach; the rest is cropped, missing ones come from padding.
  const needH = sh * (oh - 1) + kh - pt;
  const needW = sw * (ow - 1) + kw - pl;
  const hc = Math.min(h, needH);
  const wc = Math.min(w, needW);
  if (hc <= 0 || wc <= 0) {
    // Every tap reads padding.
    backend.wasm.HEAPF32.fill(0, heapIndex(backend, out), heapIndex(backend, out) + kh * kw * ci * co);
    return out;
  }
  const macs = n * oh * ow * kh * kw * ci * co;
  // ns, measured roughly on one core: ~1.3 per scattered JS write, ~0.2 per native fill, ~3.4 per float XNNPACK packs
  // as weights (its packing of a fresh weight tensor is slow), ~0.1 per GEMM multiply-add.
  const costConv = 1.3 * (n * h * w * ci + n * oh * ow * co) + 3.4 * n * oh * ow * co * tileWaste(co) + 0.1 * macs * tileWaste(co);
  const costMatMul = 0.2 * kh * kw * co * n * h * w + 1.3 * n * oh * ow * kh * kw * co + 3.4 * n * h * w * ci * tileWaste(ci) + 0.1 * macs * tileWaste(ci);
  if (costMatMul < costConv) return filterGradByMatMul(backend, x, dy, info, out);
  const padBottom = needH - hc;
  const padRight = needW - wc;
  const xt = backend.makeOutput([ci, hc, wc, n], 'float32');
  const dyt = backend.makeOutput([oh, ow, n, co], 'float32');
  {
    const heap = backend.wasm.HEAPF32;
    const xs = heapIndex(backend, x);
    const xd = heapIndex(backend, xt);
    // NHWC [n,h,w,ci] -> [ci,hc,wc,n]
    const planeStride = hc * wc * n;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < hc; r++) {
        let src = xs + ((b * h + r) * w) * ci;
        let dst = xd + r * wc * n + b;
        for (let c = 0; c < wc; c++) {
          for (let k = 0; k < ci; k++) heap[dst + k * planeStride] = heap[src + k]!;
          src += ci;
          dst += n;
        }
      }
    }
    const ds = heapIndex(backend, dy);
    const dd = heapIndex(backend, dyt);
    // NHWC [n,oh,ow,co] -> [oh,ow,n,co]
    for (let b = 0; b < n; b++) {
      for (let p = 0; p < oh * ow; p++) {
        const src = ds + (b * oh * ow + p) * co;
        const dst = dd + (p * n + b) * co;
        for (let k = 0; k < co; k++) heap[dst + k] = heap[src + k]!;
      }
    }
  }
  const conv = runConv2D(backend, { ...xt, shape: [ci, hc, wc, n] }, { ...dyt, shape: [oh, ow, n, co] }, [pt, padBottom, pl, padRight], [sh, sw]);
  backend.disposeData(xt.dataId);
  backend.disposeData(dyt.dataId);
  {
    const heap = backend.wasm.HEAPF32;
    const cs = heapIndex(backend, conv);
    const od = heapIndex(backend, out);
    // [ci,kh,kw,co] -> [kh,kw,ci,co]
    for (let k = 0; k < ci; k++) {
      for (let p = 0; p < kh * kw; p++) {
        const src = cs + (k * kh * kw + p) * co;
        const dst = od + (p * ci + k) * co;
        for (let o = 0; o < co; o++) heap[dst + o] = heap[src + o]!;
      }
    }
  }
  backend.disposeData(conv.dataId);
  return out;
}

/** The matrix-product form of {@link conv2DBackpropFilter}; writes into `out` [KH,KW,ci,co]. */
function filterGradByMatMul(backend: WasmBackendLike, x: TensorInfo, dy: TensorInfo, info: Conv2DKernelInfo, out: TensorInfo): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const m = n * h * w;
  const rows = kh * kw * co;
  // D [(kh,kw,co), (n,i,j)] = dy[n, (i+pt-kh)/sh, (j+pl-kw)/sw, co] where that is a whole in-range position, else 0.
  const d = backend.makeOutput([rows, m], 'float32');
  {
    const heap = backend.wasm.HEAPF32;
    const dd = heapIndex(backend, d);
    const ds = heapIndex(backend, dy);
    heap.fill(0, dd, dd + rows * m);
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        for (let c = 0; c < ow; c++) {
          const src = ds + ((b * oh + r) * ow + c) * co;
          for (let a = 0; a < kh; a++) {
            const i = r * sh + a - pt;
            if (i < 0 || i >= h) continue;
            for (let e = 0; e < kw; e++) {
              const j = c * sw + e - pl;
              if (j < 0 || j >= w) continue;
              let dst = dd + (a * kw + e) * co * m + (b * h + i) * w + j;
              for (let o = 0; o < co; o++) {
                heap[dst] = heap[src + o]!;
                dst += m;
              }
            }
          }
        }
      }
    }
  }
  const prod = runMatMul(backend, d, x, rows, m, ci);
  backend.disposeData(d.dataId);
  {
    const heap = backend.wasm.HEAPF32;
    const ps = heapIndex(backend, prod);
    const od = heapIndex(backend, out);
    // [(kh,kw,co), ci] -> [kh,kw,ci,co]
    for (let t = 0; t < kh * kw; t++) {
      for (let o = 0; o < co; o++) {
        for (let k = 0; k < ci; k++) heap[od + (t * ci + k) * co + o] = heap[ps + (t * co + o) * ci + k]!;
      }
    }
  }
  backend.disposeData(prod.dataId);
  return out;
}

/**
 * dx[n,i,j,ci] = sum over kh,kw,co of dy[n,(i+pt-kh)/sh,(j+pl-kw)/sw,co] * W[kh,kw,ci,co] (where the division is exact).
 * Split by output phase (i+pt) mod sh, (j+pl) mod sw: each phase is a stride-1 convolution of dy with a flipped
 * sub-filter, run by XNNPACK; JS builds the sub-filters and interleaves the phases into dx.
 */
function conv2DBackpropInput(args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }): TensorInfo {
  const backend = asWasm(args.backend);
  const { dy, filter } = args.inputs as { dy: TensorInfo; filter: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { inputShape: number[] };
  checkAttrs('Conv2DBackpropInput', attrs);
  checkFloat32('Conv2DBackpropInput', { dy, filter });
  const inputShape = attrs.inputShape;
  if (inputShape.length !== 4 || inputShape[3] !== filter.shape[2]) {
    throw new Error(`wasm Conv2DBackpropInput: inputShape [${inputShape.join(',')}] does not match filter in-channels ${filter.shape[2]}`);
  }
  const info = convInfo(inputShape, filter.shape, attrs);
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  if (dy.shape[0] !== n || dy.shape[1] !== oh || dy.shape[2] !== ow || dy.shape[3] !== co) {
    throw new Error(`wasm Conv2DBackpropInput: dy shape [${dy.shape.join(',')}] does not match the expected [${info.outShape.join(',')}]`);
  }
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const rowPhases = phases(sh, kh, pt, h, oh);
  const colPhases = phases(sw, kw, pl, w, ow);
  if (sh === 1 && sw === 1 && rowPhases.length === 1 && colPhases.length === 1) {
    // One phase covering dx exactly: XNNPACK's output is the answer.
    const [rp, cp] = [rowPhases[0]!, colPhases[0]!];
    if (rp.convOut === h && rp.first === 0 && cp.convOut === w && cp.first === 0) {
      const sub = subFilter(backend, filter, rp, cp, kw, ci, co);
      const dx = runConv2D(backend, dy, sub, [rp.padBefore, rp.padAfter, cp.padBefore, cp.padAfter], [1, 1]);
      backend.disposeData(sub.dataId);
      return dx;
    }
  }
  const out = backend.makeOutput([n, h, w, ci], 'float32');
  // Rows or columns of dx that no filter tap reaches (kernel smaller than the stride, or all-padding) stay zero.
  const covered = rowPhases.reduce((a, p) => a + p.count, 0) === h && colPhases.reduce((a, p) => a + p.count, 0) === w;
  if (!covered || n * oh * ow * co === 0) {
    const start = heapIndex(backend, out);
    backend.wasm.HEAPF32.fill(0, start, start + n * h * w * ci);
  }
  if (n * oh * ow * co === 0) return out;
  for (const rp of rowPhases) {
    for (const cp of colPhases) {
      const sub = subFilter(backend, filter, rp, cp, kw, ci, co);
      const phase = runConv2D(backend, dy, sub, [rp.padBefore, rp.padAfter, cp.padBefore, cp.padAfter], [1, 1]);
      backend.disposeData(sub.dataId);
      {
        const heap = backend.wasm.HEAPF32;
        const ps = heapIndex(backend, phase);
        const od = heapIndex(backend, out);
        // Phase pixel (r, c) is dx pixel (rp.start + r*sh, cp.start + c*sw), for r < rp.count, c < cp.count.
        for (let b = 0; b < n; b++) {
          for (let r = 0; r < rp.count; r++) {
            const src = ps + ((b * rp.convOut + rp.first + r) * cp.convOut + cp.first) * ci;
            const dst = od + ((b * h + rp.start + r * sh) * w + cp.start) * ci;
            copyPixels(heap, src, dst, cp.count, ci, sw * ci);
          }
        }
      }
      backend.disposeData(phase.dataId);
    }
  }
  return out;
}

/** Copies `count` pixels of `ci` floats from consecutive pixels at `src` to pixels `step` floats apart at `dst`. */
function copyPixels(heap: Float32Array, src: number, dst: number, count: number, ci: number, step: number): void {
  if (step === ci) {
    heap.copyWithin(dst, src, src + count * ci);
    return;
  }
  for (let c = 0; c < count; c++, src += ci, dst += step) {
    for (let k = 0; k < ci; k++) heap[dst + k] = heap[src + k]!;
  }
}

/** One output phase of a transposed convolution along one axis. */
interface Phase {
  stride: number;
  /** Residue (i + padBefore) mod stride of the dx positions i in this phase. */
  residue: number;
  /** Filter taps of this phase: residue + t*stride for t < taps. */
  taps: number;
  /** First dx position of the phase and how many there are (spaced by the stride). */
  start: number;
  count: number;
  /** Padding of the stride-1 convolution over dy, and its output length. */
  padBefore: number;
  padAfter: number;
  convOut: number;
  /** Index in the convolution output of the phase's first dx position. */
  first: number;
}

/**
 * The phases along one axis of length `size` (dy length `dySize`): dx position i = q*stride + residue - pad takes
 * dy[q - t] * W[residue + t*stride] for t < taps, a stride-1 correlation of dy with the flipped sub-filter.
 */
function phases(stride: number, k: number, pad: number, size: number, dySize: number): Phase[] {
  const out: Phase[] = [];
  for (let residue = 0; residue < stride; residue++) {
    const taps = residue < k ? Math.ceil((k - residue) / stride) : 0;
    if (taps === 0) continue;
    const q0 = Math.max(0, Math.ceil((pad - residue) / stride));
    const q1 = Math.floor((size - 1 + pad - residue) / stride);
    if (q1 < q0) continue;
    // Convolution output index r is q = r + base, base = taps - 1 - padBefore; start at q0 where padding allows.
    const padBefore = Math.max(0, taps - 1 - q0);
    const base = taps - 1 - padBefore;
    const wanted = q1 - base + 1;
    const padAfter = Math.max(0, wanted - dySize - padBefore + taps - 1);
    const convOut = dySize + padBefore + padAfter - taps + 1;
    out.push({ stride, residue, taps, start: q0 * stride + residue - pad, count: q1 - q0 + 1, padBefore, padAfter, convOut, first: q0 - base });
  }
  return out;
}

/** Sub-filter F[a,b,co,ci] = W[rh + (th-1-a)*sh, rw + (tw-1-b)*sw, ci, co] of one phase, as a new wasm tensor. */
function subFilter(backend: WasmBackendLike, filter: TensorInfo, rp: Phase, cp: Phase, kw: number, ci: number, co: number): TensorInfo {
  const [th, tw] = [rp.taps, cp.taps];
  const sub = backend.makeOutput([th, tw, co, ci], 'float32');
  const heap = backend.wasm.HEAPF32;
  const fs = heapIndex(backend, filter);
  const fd = heapIndex(backend, sub);
  for (let a = 0; a < th; a++) {
    const fr = rp.residue + (th - 1 - a) * rp.stride;
    for (let b = 0; b < tw; b++) {
      const fc = cp.residue + (tw - 1 - b) * cp.stride;
      const src = fs + (fr * kw + fc) * ci * co;
      const dst = fd + (a * tw + b) * co * ci;
      for (let i = 0; i < ci; i++) {
        for (let o = 0; o < co; o++) heap[dst + o * ci + i] = heap[src + i * co + o]!;
      }
    }
  }
  return { ...sub, shape: [th, tw, co, ci] };
}

/** Activations the few-output-channel convolution applies itself; others go to the stock kernel. */
const ACTIVATIONS: Readonly<Record<string, (v: number, alpha: number) => number>> = Object.freeze({
  linear: (v: number) => v,
  relu: (v: number) => (v > 0 ? v : 0),
  relu6: (v: number) => (v > 0 ? (v < 6 ? v : 6) : 0),
  leakyrelu: (v: number, alpha: number) => (v > 0 ? v : alpha * v),
  elu: (v: number) => (v > 0 ? v : Math.exp(v) - 1),
  sigmoid: (v: number) => 1 / (1 + Math.exp(-v)),
});

/**
 * Whether a convolution is cheaper as one matrix product over every input pixel plus a JS gather than on XNNPACK's
 * convolution, which wastes most of its 8-wide tiles when there are few output channels (a 1-channel output layer).
 */
function preferGatherConv(info: Conv2DKernelInfo): boolean {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const taps = info.filterHeight * info.filterWidth;
  const stock = 0.1 * n * oh * ow * taps * ci * co * tileWaste(co);
  const gather = 0.1 * n * h * w * ci * taps * co * tileWaste(taps * co) + 1.3 * n * oh * ow * taps * co;
  return gather < stock;
}

/**
 * out[n,oh,ow,co] = act(bias[co] + sum over taps t=(kh,kw) of Y[n, oh*sh+kh-pt, ow*sw+kw-pl, t, co]) with
 * Y = x [N*H*W, ci] x W' [ci, KH*KW*co] on XNNPACK (taps in range only; the rest is padding).
 */
function gatherConv(backend: WasmBackendLike, x: TensorInfo, filter: TensorInfo, info: Conv2DKernelInfo, bias: TensorInfo | undefined, act: (v: number, alpha: number) => number, alpha: number): TensorInfo {
  const { batchSize: n, inHeight: h, inWidth: w, inChannels: ci, outHeight: oh, outWidth: ow, outChannels: co } = info;
  const { filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const pt = info.padInfo.top;
  const pl = info.padInfo.left;
  const tc = kh * kw * co;
  const wt = backend.makeOutput([ci, tc], 'float32');
  {
    const heap = backend.wasm.HEAPF32;
    const fs = heapIndex(backend, filter);
    const fd = heapIndex(backend, wt);
    // HWIO [kh,kw,ci,co] -> [ci, (kh,kw,co)]
    for (let t = 0; t < kh * kw; t++) {
      for (let k = 0; k < ci; k++) {
        for (let o = 0; o < co; o++) heap[fd + k * tc + t * co + o] = heap[fs + (t * ci + k) * co + o]!;
      }
    }
  }
  const y = runMatMul(backend, x, wt, n * h * w, ci, tc);
  backend.disposeData(wt.dataId);
  const out = backend.makeOutput([n, oh, ow, co], 'float32');
  {
    const heap = backend.wasm.HEAPF32;
    const ys = heapIndex(backend, y);
    const od = heapIndex(backend, out);
    const biasValues = new Float64Array(co);
    if (bias !== undefined) {
      const at = heapIndex(backend, bias);
      for (let o = 0; o < co; o++) biasValues[o] = heap[at + (bias.shape[0] === co ? o : 0)]!;
    }
    // Output columns c whose tap e lands inside x: cLo[e] <= c < cHi[e].
    const cLo = new Int32Array(kw);
    const cHi = new Int32Array(kw);
    for (let e = 0; e < kw; e++) {
      cLo[e] = Math.min(ow, Math.max(0, Math.ceil((pl - e) / sw)));
      cHi[e] = Math.max(cLo[e]!, Math.min(ow, Math.floor((w - 1 + pl - e) / sw) + 1));
    }
    const row = new Float64Array(ow * co);
    const step = sw * tc;
    const linear = act === ACTIVATIONS.linear;
    for (let b = 0; b < n; b++) {
      for (let r = 0; r < oh; r++) {
        const dst = od + (b * oh + r) * ow * co;
        if (co === 1) {
          // One output channel: sum the taps of each pixel in a register.
          const a0 = Math.max(0, pt - r * sh);
          const a1 = Math.min(kh, h + pt - r * sh);
          for (let c = 0; c < ow; c++) {
            const e0 = Math.max(0, pl - c * sw);
            const e1 = Math.min(kw, w + pl - c * sw);
            let acc = biasValues[0]!;
            for (let a = a0; a < a1; a++) {
              let src = ys + ((b * h + r * sh + a - pt) * w + c * sw + e0 - pl) * tc + a * kw + e0;
              for (let e = e0; e < e1; e++, src += tc + 1) acc += heap[src]!;
            }
            heap[dst + c] = linear ? acc : act(acc, alpha);
          }
          continue;
        }
        for (let c = 0; c < ow; c++) {
          for (let o = 0; o < co; o++) row[c * co + o] = biasValues[o]!;
        }
        for (let a = 0; a < kh; a++) {
          const i = r * sh + a - pt;
          if (i < 0 || i >= h) continue;
          for (let e = 0; e < kw; e++) {
            const c1 = cHi[e]!;
            let c = cLo[e]!;
            let src = ys + ((b * h + i) * w + c * sw + e - pl) * tc + (a * kw + e) * co;
            for (; c < c1; c++, src += step) {
              for (let o = 0; o < co; o++) row[c * co + o] += heap[src + o]!;
            }
          }
        }
        if (linear) {
          for (let k = 0; k < ow * co; k++) heap[dst + k] = row[k]!;
        } else {
          for (let k = 0; k < ow * co; k++) heap[dst + k] = act(row[k]!, alpha);
        }
      }
    }
  }
  backend.disposeData(y.dataId);
  return out;
}

function forwardConvInfo(kernel: string, x: TensorInfo, filter: TensorInfo, attrs: ConvAttrs): Conv2DKernelInfo | undefined {
  const format = attrs.dataFormat ?? 'NHWC';
  const [dh, dw] = typeof attrs.dilations === 'number' ? [attrs.dilations, attrs.dilations] : attrs.dilations ?? [1, 1];
  if ((format !== 'NHWC' && format !== 'channelsLast') || dh !== 1 || dw !== 1) return undefined;
  if (x.dtype !== 'float32' || filter.dtype !== 'float32' || x.shape.length !== 4 || filter.shape.length !== 4) return undefined;
  if (x.shape[3] !== filter.shape[2]) {
    throw new Error(`wasm ${kernel}: x has ${x.shape[3]} channels but the filter expects ${filter.shape[2]}`);
  }
  const info = convInfo(x.shape, filter.shape, attrs);
  return preferGatherConv(info) ? info : undefined;
}

/** Conv2D: few output channels through {@link gatherConv}, everything else (and every other format) to the stock kernel. */
function conv2D(args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, filter } = args.inputs as { x: TensorInfo; filter: TensorInfo };
  const info = forwardConvInfo('Conv2D', x, filter, args.attrs as unknown as ConvAttrs);
  if (info === undefined) return stockConv2D!(args);
  return gatherConv(asWasm(args.backend), x, filter, info, undefined, ACTIVATIONS.linear!, 0);
}

/** FusedConv2D (conv + bias + activation) likewise; PReLU and non-vector biases go to the stock kernel. */
function fusedConv2D(args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x, filter, bias, preluActivationWeights } = args.inputs as { x: TensorInfo; filter: TensorInfo; bias?: TensorInfo; preluActivationWeights?: TensorInfo };
  const attrs = args.attrs as unknown as ConvAttrs & { activation?: string; leakyreluAlpha?: number };
  const act = ACTIVATIONS[attrs.activation ?? 'linear'];
  const co = filter.shape[3];
  const plainBias = bias == null || (bias.dtype === 'float32' && bias.shape.length === 1 && (bias.shape[0] === co || bias.shape[0] === 1));
  const info = act !== undefined && preluActivationWeights == null && plainBias ? forwardConvInfo('FusedConv2D', x, filter, attrs) : undefined;
  // An unset leakyreluAlpha means 0, as in the stock kernel, so that the path taken never changes the answer.
  if (info !== undefined) return gatherConv(asWasm(args.backend), x, filter, info, bias ?? undefined, act!, attrs.leakyreluAlpha || 0);
  if (bias != null && bias.dtype === 'float32' && bias.shape.length === 1 && bias.shape[0] === 1 && co !== 1) {
    // The stock kernel wants one bias per channel; TF.js also allows one for all.
    const backend = asWasm(args.backend);
    const wide = backend.makeOutput([co], 'float32');
    const heap = backend.wasm.HEAPF32;
    heap.fill(heap[heapIndex(backend, bias)]!, heapIndex(backend, wide), heapIndex(backend, wide) + co);
    const out = stockFusedConv2D!({ ...args, inputs: { ...args.inputs, bias: wide } });
    backend.disposeData(wide.dataId);
    return out;
  }
  return stockFusedConv2D!(args);
}

/**
 * Sum over leading axes (a bias gradient: [N,H,W,C] -> [C]) in one pass with float64 accumulators; the stock kernel
 * transposes the reduced axes innermost first. Other reductions and dtypes go to the stock kernel.
 */
function sum(args: { inputs: Record<string, TensorInfo>; attrs: NamedAttrMap; backend: unknown }): TensorInfo {
  const { x } = args.inputs as { x: TensorInfo };
  const { axis, keepDims } = args.attrs as unknown as { axis: number | number[]; keepDims: boolean };
  const rank = x.shape.length;
  const axes = [...new Set((Array.isArray(axis) ? axis : [axis]).map((a) => (a < 0 ? a + rank : a)))].sort((a, b) => a - b);
  const leading = axes.length > 0 && axes.every((a, i) => a === i) && axes.length < rank;
  if (x.dtype !== 'float32' || !leading) return stockSum!(args);
  const backend = asWasm(args.backend);
  const kept = x.shape.slice(axes.length);
  const cols = kept.reduce((a, b) => a * b, 1);
  const rows = x.shape.slice(0, axes.length).reduce((a, b) => a * b, 1);
  const out = backend.makeOutput(keepDims ? [...axes.map(() => 1), ...kept] : kept, 'float32');
  const acc = new Float64Array(cols);
  const heap = backend.wasm.HEAPF32;
  const src = heapIndex(backend, x);
  // Four columns at a time in locals: V8 keeps them in registers (3x faster than accumulating into an array).
  let c0 = 0;
  for (; c0 + 4 <= cols; c0 += 4) {
    let a0 = 0;
    let a1 = 0;
    let a2 = 0;
    let a3 = 0;
    for (let r = 0, p = src + c0; r < rows; r++, p += cols) {
      a0 += heap[p]!;
      a1 += heap[p + 1]!;
      a2 += heap[p + 2]!;
      a3 += heap[p + 3]!;
    }
    acc[c0] = a0;
    acc[c0 + 1] = a1;
    acc[c0 + 2] = a2;
    acc[c0 + 3] = a3;
  }
  for (; c0 < cols; c0++) {
    let a = 0;
    for (let r = 0, p = src + c0; r < rows; r++, p += cols) a += heap[p]!;
    acc[c0] = a;
  }
  heap.set(acc, heapIndex(backend, out));
  return out;
}

const KERNELS: Readonly<Record<string, KernelFunc>> = Object.freeze({
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as KernelFunc,
  Conv2D: conv2D as unknown as KernelFunc,
  FusedConv2D: fusedConv2D as unknown as KernelFunc,
  Sum: sum as unknown as KernelFunc,
});

/** The kernel function tfjs-backend-wasm registered under `name` (captured once, before this module replaces any). */
function stockKernel(name: string): StockKernel {
  const kernel = getKernel(name, 'wasm');
  if (kernel === undefined || Object.values(KERNELS).includes(kernel.kernelFunc)) {
    throw new Error(`wasm training kernels: the stock '${name}' kernel for 'wasm' is not registered; import @tensorflow/tfjs-backend-wasm first`);
  }
  return kernel.kernelFunc as unknown as StockKernel;
}

/**
 * Registers this module's kernels for the 'wasm' backend, replacing stock ones of the same name:
 * - `Conv2DBackpropFilter` (missing in tfjs-backend-wasm 4.22): as a dilated XNNPACK convolution or an XNNPACK matmul;
 * - `Conv2DBackpropInput` (a naive C loop in 4.22; also Conv2DTranspose's forward pass): as one XNNPACK convolution
 *   per stride phase;
 * - `Conv2D`, `FusedConv2D`: unchanged (stock) except with few output channels, then as a matmul plus a JS gather;
 * - `Sum`: over leading axes (bias gradients) in one JS pass, else stock.
 * Idempotent; call it after importing `@tensorflow/tfjs-backend-wasm` (which registers the stock kernels this module
 * builds on), before or after the backend is initialised.
 * @returns the names of the kernels registered.
 */
export function registerWasmTrainingKernels(): readonly string[] {
  stockConv2D ??= stockKernel('Conv2D');
  stockFusedConv2D ??= stockKernel('FusedConv2D');
  stockBatchMatMul ??= stockKernel('BatchMatMul');
  stockSum ??= stockKernel('Sum');
  for (const name of WASM_TRAINING_KERNELS) {
    const kernelFunc = KERNELS[name]!;
    const existing = getKernel(name, 'wasm');
    if (existing?.kernelFunc === kernelFunc) continue;
    if (existing !== undefined) unregisterKernel(name, 'wasm');
    // Keep the stock setup (it binds the wasm functions the stock kernel, which ours may call, needs at backend start).
    const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc, setupFunc: existing?.setupFunc };
    registerKernel(config);
  }
  return WASM_TRAINING_KERNELS;
}
