// Training kernels for the TF.js 'wasm' backend: the missing and slow convolution gradients, built on its XNNPACK Conv2D.
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

/** Names of the kernels {@link registerWasmTrainingKernels} registers for the 'wasm' backend, in registration order. */
export const WASM_TRAINING_KERNELS: readonly string[] = Object.freeze(['Conv2DBackpropFilter', 'Conv2DBackpropInput']);

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

/**
 * dW[kh,kw,ci,co] = sum over n,oh,ow of x[n, oh*sh+kh-pt, ow*sw+kw-pl, ci] * dy[n,oh,ow,co].
 * Read as a stride-1 convolution with dilation (sh,sw): input x as [ci, H', W, N] (ci plays the batch, N the channels),
 * filter dy as [OH, OW, N, co]; output [ci, KH, KW, co]. XNNPACK runs it; JS only transposes.
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
  const out = backend.makeOutput([n, h, w, ci], 'float32');
  const outStart = heapIndex(backend, out);
  backend.wasm.HEAPF32.fill(0, outStart, outStart + n * h * w * ci);
  if (n * oh * ow * co === 0) return out;
  for (let rh = 0; rh < sh; rh++) {
    const th = rh < kh ? Math.ceil((kh - rh) / sh) : 0; // filter rows kh' = rh + t*sh
    if (th === 0) continue;
    // dx rows i with (i + pt) mod sh == rh are i = q*sh + rh - pt, q in [q0, q1]
    const q0 = Math.max(0, Math.ceil((pt - rh) / sh));
    const q1 = Math.floor((h - 1 + pt - rh) / sh);
    if (q1 < q0) continue;
    for (let rw = 0; rw < sw; rw++) {
      const tw = rw < kw ? Math.ceil((kw - rw) / sw) : 0;
      if (tw === 0) continue;
      const u0 = Math.max(0, Math.ceil((pl - rw) / sw));
      const u1 = Math.floor((w - 1 + pl - rw) / sw);
      if (u1 < u0) continue;
      // Sub-filter F[a,b,co,ci] = W[rh + (th-1-a)*sh, rw + (tw-1-b)*sw, ci, co]
      const sub = backend.makeOutput([th, tw, co, ci], 'float32');
      {
        const heap = backend.wasm.HEAPF32;
        const fs = heapIndex(backend, filter);
        const fd = heapIndex(backend, sub);
        for (let a = 0; a < th; a++) {
          const fr = rh + (th - 1 - a) * sh;
          for (let b = 0; b < tw; b++) {
            const fc = rw + (tw - 1 - b) * sw;
            const src = fs + (fr * kw + fc) * ci * co;
            const dst = fd + (a * tw + b) * co * ci;
            for (let i = 0; i < ci; i++) {
              for (let o = 0; o < co; o++) heap[dst + o * ci + i] = heap[src + i * co + o]!;
            }
          }
        }
      }
      // Stride-1 conv over dy with top pad th-1 gives rows q = 0..; bottom pad so that row q1 exists.
      const padBottom = Math.max(0, q1 + 1 - oh);
      const padRight = Math.max(0, u1 + 1 - ow);
      const phase = runConv2D(backend, dy, { ...sub, shape: [th, tw, co, ci] }, [th - 1, padBottom, tw - 1, padRight], [1, 1]);
      backend.disposeData(sub.dataId);
      const ph = oh + th - 1 + padBottom - th + 1;
      const pw = ow + tw - 1 + padRight - tw + 1;
      {
        const heap = backend.wasm.HEAPF32;
        const ps = heapIndex(backend, phase);
        const od = heapIndex(backend, out);
        for (let b = 0; b < n; b++) {
          for (let q = q0; q <= q1; q++) {
            const i = q * sh + rh - pt;
            let src = ps + ((b * ph + q) * pw + u0) * ci;
            let dst = od + ((b * h + i) * w + u0 * sw + rw - pl) * ci;
            const step = sw * ci;
            for (let u = u0; u <= u1; u++) {
              for (let k = 0; k < ci; k++) heap[dst + k] = heap[src + k]!;
              src += ci;
              dst += step;
            }
          }
        }
      }
      backend.disposeData(phase.dataId);
    }
  }
  return out;
}

const KERNELS: Readonly<Record<string, KernelFunc>> = Object.freeze({
  Conv2DBackpropFilter: conv2DBackpropFilter as unknown as KernelFunc,
  Conv2DBackpropInput: conv2DBackpropInput as unknown as KernelFunc,
});

/**
 * Registers this module's kernels for the 'wasm' backend (replacing stock ones of the same name).
 * Idempotent; call it after importing `@tensorflow/tfjs-backend-wasm` (which registers the stock kernels
 * this module builds on), before or after the backend is initialised.
 * @returns the names of the kernels registered.
 */
export function registerWasmTrainingKernels(): readonly string[] {
  const conv = getKernel('Conv2D', 'wasm');
  if (conv === undefined) {
    throw new Error("wasm training kernels: the stock 'Conv2D' kernel for 'wasm' is not registered; import @tensorflow/tfjs-backend-wasm first");
  }
  stockConv2D = conv.kernelFunc as unknown as StockKernel;
  for (const name of WASM_TRAINING_KERNELS) {
    const kernelFunc = KERNELS[name]!;
    const existing = getKernel(name, 'wasm');
    if (existing?.kernelFunc === kernelFunc) continue;
    if (existing !== undefined) unregisterKernel(name, 'wasm');
    const config: KernelConfig = { kernelName: name, backendName: 'wasm', kernelFunc };
    registerKernel(config);
  }
  return WASM_TRAINING_KERNELS;
}
