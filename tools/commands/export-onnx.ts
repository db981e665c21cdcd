// `tools export-onnx`: a training run (default runs/latest) or a spec with weights, emitted as an ONNX model.
import type { CommandModule } from 'yargs';
import { countParams } from '../layers/spec.js';
import { emitOnnx, irVersionFor } from '../onnx/emit.js';
import { exportOnnxFile, measureFp16Error, type ExportRequest } from '../onnx/export.js';
import { DEFAULT_OPSET, type StaticShape } from '../onnx/onnx-graph.js';
import { check, checkInteger, defaultOverlap, describeNoise } from 'onnx-denoiser-common';
import { parseSize } from './cli-helpers.js';

interface ExportArgs {
  run?: string;
  spec?: string;
  weights?: string;
  'random-weights'?: boolean;
  seed?: number;
  out?: string;
  opset: number;
  fp16: boolean;
  'symmetric-pads': boolean;
  static?: string;
  batch?: number;
  force: boolean;
}

const number = (n: number) => n.toLocaleString('en-US');

/** `--static HxW` (or N for a square) with `--batch`, as a fixed input shape. */
function staticShapeOf(value: string, batch: number | undefined): StaticShape {
  const [height, width] = parseSize(value, '--static');
  return { batch: checkInteger(batch ?? 1, '--batch', { min: 1, max: 65536 }), height, width };
}

/** The `export-onnx` command. */
export const exportOnnxCommand: CommandModule<object, ExportArgs> = {
  command: 'export-onnx',
  describe: 'Emit the network with its weights as an ONNX model (input [N, C, H, W] float32 in [0, 1], any H and W)',
  builder: (y) =>
    y
      .option('run', { type: 'string', describe: 'training run folder with spec.json and weights.safetensors (default, or no value: the run named in runs/latest)' })
      .option('spec', { type: 'string', describe: 'layer spec (JSON), with --weights or --random-weights instead of a run' })
      .option('weights', { type: 'string', describe: 'weights (safetensors, TF layouts, names as in the spec)' })
      .option('random-weights', { type: 'boolean', describe: 'export the builder\'s initial (untrained) weights' })
      .option('seed', { type: 'number', describe: 'seed of --random-weights (default 1)' })
      .option('out', { type: 'string', describe: 'output file (default model.onnx beside the weights; <spec name>.onnx beside the spec for --random-weights)' })
      .option('opset', { type: 'number', default: DEFAULT_OPSET, describe: 'ONNX opset: 17 (IR 8), 18 (IR 8), 19 (IR 9), 20 (IR 9) or 21 (IR 10)' })
      .option('fp16', { type: 'boolean', default: false, describe: 'float16 weights and arithmetic, float32 input and output; reports size and error against float32' })
      .option('symmetric-pads', { type: 'boolean', default: false, describe: 'ConvTranspose with symmetric pads plus a Slice (keeps ORT CUDA on the GPU)' })
      .option('static', { type: 'string', describe: 'a fixed input shape HxW (e.g. 28x28): no Shape op and no computed pads, for OpenCV DNN and other static-shape consumers' })
      .option('batch', { type: 'number', describe: 'batch size of --static (default 1)' })
      .option('force', { type: 'boolean', default: false, describe: 'replace an existing output file' }) as never,
  handler: async (args) => {
    // The opset is checked before any file is read.
    irVersionFor(args.opset, '--opset');
    check(args.batch === undefined || args.static !== undefined, '--batch only with --static', '--batch', args.batch);
    const staticShape = args.static === undefined ? undefined : staticShapeOf(args.static, args.batch);
    const request: ExportRequest = {
      run: args.run,
      spec: args.spec,
      weights: args.weights,
      randomWeights: args['random-weights'],
      seed: args.seed,
      out: args.out,
      opset: args.opset,
      fp16: args.fp16,
      symmetricPads: args['symmetric-pads'],
      staticShape,
      force: args.force,
    };
    let fp16Line = '';
    const result = await exportOnnxFile(request, async ({ spec, weights, emitted, noise, training, weightsSource }) => {
      if (!args.fp16) return;
      // Measured before the write, so a failure leaves no file.
      const fp32 = emitOnnx(spec, weights, { opset: args.opset, symmetricPads: args['symmetric-pads'], staticShape, noise, training, source: weightsSource });
      // A static model takes its one shape only.
      const error = staticShape ? await measureFp16Error(fp32.bytes, emitted.bytes, spec, [staticShape.height, staticShape.width], staticShape.batch) : await measureFp16Error(fp32.bytes, emitted.bytes, spec);
      const share = Math.round((100 * emitted.bytes.length) / fp32.bytes.length);
      fp16Line =
        `  fp16: ${number(emitted.bytes.length)} bytes against ${number(fp32.bytes.length)} for fp32 (${share}%); ` +
        `error against fp32 on ${error.dims.join('x')} random images in [0, 1]: max ${error.maxAbsError.toExponential(2)}, mean ${error.meanAbsError.toExponential(2)} (onnxruntime CPU)`;
    });
    const { emitted, spec } = result;
    const m = emitted.metadata;
    const lines = [
      `wrote ${result.out} (${number(emitted.bytes.length)} bytes, ${spec.quantization ? `${spec.quantization} (QuantizeLinear / DequantizeLinear pairs; float32 input and output)` : m.precision}, opset ${args.opset}, IR ${irVersionFor(args.opset)})`,
      `  network: ${spec.name}, ${number(countParams(spec))} parameters; weights: ${result.weightsSource}`,
      staticShape
        ? `  input "${spec.input.name}" float32 [${staticShape.batch}, ${m.channels}, ${staticShape.height}, ${staticShape.width}] -> output "${emitted.model.graph!.output![0]!.name}" of the same fixed shape, values in [0, 1]; static: no Shape op, for OpenCV DNN and other static-shape consumers`
        : `  input "${spec.input.name}" float32 [N, ${m.channels}, H, W] -> output "${emitted.model.graph!.output![0]!.name}" float32 [N, ${m.channels}, H, W], values in [0, 1]; any H and W (padded inside to a multiple of ${m.sizeMultiple})`,
    ];
    const field = m.receptiveField;
    lines.push(`  receptive field: [${field.low}, ${field.high}] (the runtimes' default tile overlap: ${defaultOverlap({ sizeMultiple: m.sizeMultiple, receptiveField: field })} px)`);
    if (m.noiseMap !== undefined) lines.push(`  noise map: input "${m.noiseMap}" float32 [N, 1, H, W], the noise's standard deviation per pixel on the [0, 1] scale (the runtimes fill it from --sigma, or estimate it per image)`);
    if (m.noise) lines.push(`  trained for: ${describeNoise(m.noise, m.noiseMap)} noise`);
    if (m.training) {
      const t = m.training;
      const parts = [t.data, t.epochs !== undefined ? `${t.epochs} epochs` : undefined, t.valLoss !== undefined ? `validation loss ${t.valLoss.toFixed(5)}` : undefined, t.valPsnr !== undefined ? `PSNR ${t.valPsnr.toFixed(2)} dB` : undefined];
      lines.push(`  training: ${parts.filter(Boolean).join(', ')}`);
    }
    lines.push(`  content sha256: ${m.contentHash}`);
    if (fp16Line) lines.push(fp16Line);
    process.stdout.write(`${lines.join('\n')}\n`);
  },
};
