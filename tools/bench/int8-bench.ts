// Convolution speed of onnxruntime-node's CPU provider in float32 against int8 (QLinearConv), per channel width: how much larger a quantized photo network could be for the same time.
// Run: npm run bench:int8 [-- --size 256 --layers 6 --repeats 5]
import onnxProto, { type onnx as Onnx } from 'onnx-proto';
import { check } from 'onnx-denoiser-common';
import { rawOrt } from 'onnx-denoiser-node/internal';
import { attr, DataType, GraphBuilder } from '../onnx/onnx-graph.js';

const { onnx } = onnxProto;

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = Number(process.argv[at + 1]);
  check(Number.isInteger(value) && value > 0, 'a positive integer', `--${name}`, process.argv[at + 1]);
  return value;
}

const SIZE = option('size', 256);
const LAYERS = option('layers', 6);
const REPEATS = option('repeats', 5);
const WIDTHS = [16, 32, 48, 64];

/** Deterministic values in [-scale, scale] (the bench times, it does not denoise). */
const wave = (n: number, scale: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898) * scale);

function tensor(name: string, dataType: number, dims: number[], bytes: Uint8Array): Onnx.ITensorProto {
  return { name, dataType, dims, rawData: bytes };
}

function valueInfo(name: string, channels: number): Onnx.IValueInfoProto {
  const dim = [{ dimParam: 'N' }, { dimValue: channels }, { dimParam: 'H' }, { dimParam: 'W' }];
  return { name, type: { tensorType: { elemType: DataType.FLOAT, shape: { dim } } } };
}

/** LAYERS 3x3 convolutions of `c` channels with ReLU: float32 Conv + Relu, or QLinearConv on uint8 activations (zero point 0, so negatives clamp to 0: the ReLU) and per-channel int8 weights. */
function model(c: number, int8: boolean): Uint8Array {
  const g = new GraphBuilder();
  g.claim('x');
  const pads = [attr.ints('pads', [1, 1, 1, 1])];
  let x = 'x';
  if (int8) {
    g.initializers.push(tensor(g.claim('scale'), DataType.FLOAT, [], new Uint8Array(Float32Array.of(0.02).buffer)), tensor(g.claim('zero'), onnx.TensorProto.DataType.UINT8, [], Uint8Array.of(0)));
    x = g.node('QuantizeLinear', 'quantize', ['x', 'scale', 'zero'], ['q0']);
  }
  for (let l = 0; l < LAYERS; l++) {
    if (int8) {
      const weights = Int8Array.from(wave(c * c * 9, 1), (v) => Math.round(v * 100));
      g.initializers.push(
        tensor(g.claim(`w${l}`), onnx.TensorProto.DataType.INT8, [c, c, 3, 3], new Uint8Array(weights.buffer)),
        tensor(g.claim(`ws${l}`), DataType.FLOAT, [c], new Uint8Array(new Float32Array(c).fill(0.002).buffer)),
        tensor(g.claim(`wz${l}`), onnx.TensorProto.DataType.INT8, [c], new Uint8Array(c)),
        tensor(g.claim(`b${l}`), onnx.TensorProto.DataType.INT32, [c], new Uint8Array(new Int32Array(c).fill(3).buffer)),
      );
      x = g.node('QLinearConv', `conv${l}`, [x, 'scale', 'zero', `w${l}`, `ws${l}`, `wz${l}`, 'scale', 'zero', `b${l}`], [`q${l + 1}`], pads);
    } else {
      g.floatInitializer(`w${l}`, [c, c, 3, 3], wave(c * c * 9, 0.1), 'float32');
      g.floatInitializer(`b${l}`, [c], wave(c, 0.01), 'float32');
      x = g.node('Relu', `relu${l}`, [g.node('Conv', `conv${l}`, [x, `w${l}`, `b${l}`], [`c${l}`], pads)], [`r${l}`]);
    }
  }
  if (int8) x = g.node('DequantizeLinear', 'dequantize', [x, 'scale', 'zero'], ['y']);
  const graph = { name: 'bench', node: g.nodes, initializer: g.initializers, input: [valueInfo('x', c)], output: [valueInfo(x, c)] };
  return onnx.ModelProto.encode({ irVersion: 8, opsetImport: [{ domain: '', version: 17 }], graph }).finish();
}

/** Best time of REPEATS runs after one warm-up, in ms. */
async function time(c: number, int8: boolean): Promise<number> {
  const session = await rawOrt.InferenceSession.create(model(c, int8), { executionProviders: ['cpu'], graphOptimizationLevel: 'all', logSeverityLevel: 3 });
  const x = new rawOrt.Tensor('float32', wave(c * SIZE * SIZE, 1).map(Math.abs), [1, c, SIZE, SIZE]);
  await session.run({ x });
  let best = Infinity;
  for (let r = 0; r < REPEATS; r++) {
    const start = performance.now();
    await session.run({ x });
    best = Math.min(best, performance.now() - start);
  }
  await session.release();
  return best;
}

process.stdout.write(`${LAYERS} 3x3 convolutions with ReLU on one ${SIZE}x${SIZE} image, onnxruntime-node CPU (all cores), best of ${REPEATS}:\n\n`);
process.stdout.write('| channels | float32 ms | float32 GMAC/s | int8 ms | int8 GMAC/s | int8 speed-up |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n');
for (const c of WIDTHS) {
  const gmac = (LAYERS * SIZE * SIZE * c * c * 9) / 1e9;
  const [f32, i8] = [await time(c, false), await time(c, true)];
  process.stdout.write(`| ${c} | ${f32.toFixed(1)} | ${((gmac / f32) * 1000).toFixed(1)} | ${i8.toFixed(1)} | ${((gmac / i8) * 1000).toFixed(1)} | ${(f32 / i8).toFixed(2)}x |\n`);
}
