// Export from files: a training run folder (or runs/latest) or a spec with weights, to an ONNX file written atomically.
import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { cannot, check, checkInteger, described, invalid, Rng, ValidationError, type NoiseInfo, type TrainingSummary } from 'onnx-denoiser-common';
import { writeFileAtomic } from 'onnx-denoiser-node/internal';
import type { WeightTensor } from '../model/build-tfjs.js';
import { readSafetensors } from '../model/safetensors.js';
import { loadSpec, type NetworkSpec } from '../layers/spec.js';
import { checkpointEpoch, latestRunDir, runFile, RUN_FILES, weightsEpoch } from '../train/run-folder.js';
import { emitOnnx, type EmittedModel } from './emit.js';
import type { StaticShape } from './onnx-graph.js';

/** What to export: a run (`run`, or neither `run` nor `spec`: runs/latest) or a spec with `weights` or `randomWeights`. */
export interface ExportRequest {
  /** A run folder; '' means runs/latest. */
  run?: string;
  spec?: string;
  weights?: string;
  randomWeights?: boolean;
  /** Seed of the random initial weights (default 1). */
  seed?: number;
  /** Output file; default `model.onnx` (`model.fp16.onnx` with fp16, `model.28x28.onnx` with a static 28x28 shape) beside the weights, or `<spec name>.onnx` beside the spec for random weights. */
  out?: string;
  opset?: number;
  fp16?: boolean;
  symmetricPads?: boolean;
  /** A fixed input shape (for OpenCV DNN and other static-shape consumers); the default name gets `.<H>x<W>` before `.onnx`. */
  staticShape?: StaticShape;
  /** Replace an existing output file. */
  force?: boolean;
}

/** The resolved inputs of an export. */
export interface ExportInputs {
  spec: NetworkSpec;
  weights: Map<string, WeightTensor>;
  /** Where the weights came from, for messages and the report (a file, or "random initial weights (seed 1)"). */
  weightsSource: string;
  noise?: NoiseInfo;
  training?: TrainingSummary;
  /** Where the model goes. */
  out: string;
  /** The run folder, when exporting a run. */
  runDir?: string;
}

/** What {@link exportOnnxFile} did. */
export interface ExportResult extends ExportInputs {
  emitted: EmittedModel;
}

async function readJson(file: string, what: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return undefined;
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw invalid('JSON', `${what} ${file}`, described('text that does not parse'), { hint: (error as Error).message, argument: file });
  }
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const finite = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);

/**
 * The noise and training summary of a run from its config.json ({settings: {noise: {kind, factor}}, data: {name,
 * train, test}}) and history.json ([{epoch, valLoss, valPsnr, noisyPsnr}, ...]); fields that are missing are left out.
 */
export async function runSummary(dir: string): Promise<{ noise?: NoiseInfo; training?: TrainingSummary }> {
  const config = await readJson(runFile(dir, 'config'), 'the run config');
  const history = await readJson(runFile(dir, 'history'), 'the run history');
  const result: { noise?: NoiseInfo; training?: TrainingSummary } = {};
  const settings = isObject(config) && isObject(config.settings) ? config.settings : undefined;
  const noise = settings && isObject(settings.noise) ? settings.noise : undefined;
  if (noise && typeof noise.kind === 'string' && finite(noise.factor) !== undefined) {
    result.noise = { kind: noise.kind, factor: noise.factor as number, ...(finite(noise.maxFactor) !== undefined ? { maxFactor: noise.maxFactor as number } : {}) };
  }
  const training: TrainingSummary = {};
  const data = isObject(config) && isObject(config.data) ? config.data : undefined;
  if (data && typeof data.name === 'string') {
    const counts = finite(data.train) !== undefined && finite(data.test) !== undefined ? ` (${data.train} train / ${data.test} validation images)` : '';
    training.data = `${data.name}${counts}`;
  }
  const last = Array.isArray(history) ? history.at(-1) : undefined;
  if (isObject(last)) {
    if (finite(last.epoch) !== undefined && Number.isInteger(last.epoch)) training.epochs = last.epoch as number;
    if (finite(last.valLoss) !== undefined) training.valLoss = last.valLoss as number;
    if (finite(last.valPsnr) !== undefined) training.valPsnr = last.valPsnr as number;
    if (finite(last.noisyPsnr) !== undefined) training.noisyPsnr = last.noisyPsnr as number;
  }
  if (Object.keys(training).length > 0) result.training = training;
  return result;
}

async function randomInitialWeights(spec: NetworkSpec, seed: number): Promise<Map<string, WeightTensor>> {
  // TF.js is loaded only here: exporting trained weights does not need it.
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  const { buildModel, getWeights } = await import('../model/build-tfjs.js');
  // PROD silences the cpu backend's console banner ("install our node backend"): only the weights are wanted here.
  tf.env().set('PROD', true);
  await tf.setBackend('cpu');
  const model = buildModel(spec, { seed });
  const weights = await getWeights(model, spec);
  model.dispose();
  return weights;
}

/**
 * Resolves an export request to a spec, weights, optional run summary and output path; checks the argument
 * combinations with the standard messages. Nothing is written.
 */
export async function resolveExportInputs(request: ExportRequest): Promise<ExportInputs> {
  const shape = request.staticShape ? `.${request.staticShape.batch > 1 ? `${request.staticShape.batch}x` : ''}${request.staticShape.height}x${request.staticShape.width}` : '';
  const suffix = `${shape}${request.fp16 ? '.fp16' : ''}.onnx`;
  const usesSpec = request.spec !== undefined;
  check(!(usesSpec && request.run !== undefined), 'either --run or --spec, not both', '--run', request.run);
  check(request.weights === undefined || usesSpec, '--weights only with --spec (a run folder has its own weights)', '--weights', request.weights);
  check(!request.randomWeights || usesSpec, '--random-weights only with --spec', '--random-weights', true);
  check(request.seed === undefined || request.randomWeights === true, '--seed only with --random-weights', '--seed', request.seed);
  if (request.out !== undefined) check(typeof request.out === 'string' && request.out.length > 0, 'a file path', '--out', request.out);

  if (usesSpec) {
    check(request.weights !== undefined || request.randomWeights === true, 'a weights file (--weights FILE) or --random-weights with --spec', '--weights', undefined);
    check(!(request.weights !== undefined && request.randomWeights), 'either --weights or --random-weights, not both', '--random-weights', true);
    const spec = await loadSpec(request.spec!);
    if (request.randomWeights) {
      const seed = checkInteger(request.seed ?? 1, '--seed', { min: 0, max: 2 ** 31 - 1 });
      return {
        spec,
        weights: await randomInitialWeights(spec, seed),
        weightsSource: `random initial weights (seed ${seed})`,
        out: request.out ?? path.join(path.dirname(request.spec!), `${spec.name}${suffix}`),
      };
    }
    const { tensors } = await readSafetensors(request.weights!);
    return { spec, weights: tensors, weightsSource: request.weights!, out: request.out ?? path.join(path.dirname(request.weights!), `model${suffix}`) };
  }

  const runDir = request.run ? request.run : await latestRunDir(undefined, { argument: '--run', otherwise: 'pass --run DIR or --spec FILE with --weights FILE or --random-weights' });
  let info;
  try {
    info = await stat(runDir);
  } catch {
    throw invalid('a training run folder', '--run', described(`${runDir}, which does not exist`));
  }
  check(info.isDirectory(), 'a training run folder', '--run', runDir);
  const weightsFile = runFile(runDir, 'weights');
  // A run killed after its checkpoint but before its weights were rewritten holds an older epoch's weights.
  const [held, saved] = [await weightsEpoch(runDir), await checkpointEpoch(runDir)];
  if (held !== undefined && saved !== undefined && held !== saved) {
    throw invalid(`a run whose ${RUN_FILES.weights} holds the epoch its checkpoint does`, '--run', described(runDir), {
      hint: `the weights hold epoch ${held}, ${RUN_FILES.checkpoint} epoch ${saved} (it was stopped while writing its files); run "tools train --resume ${runDir}" to bring them up to date`,
    });
  }
  const spec = await loadSpec(runFile(runDir, 'spec'));
  const { tensors } = await readSafetensors(weightsFile);
  const summary = await runSummary(runDir);
  return { spec, weights: tensors, weightsSource: weightsFile, ...summary, out: request.out ?? path.join(runDir, `model${suffix}`), runDir };
}

function outputTaken(file: string): ValidationError {
  return invalid('an output path that does not exist (or --force to replace it)', '--out', described(`${file}, which exists`));
}

/** Throws unless `file` may be written: it does not exist, or `force` is set and it is no folder. */
export async function checkOutputFree(file: string, force: boolean): Promise<void> {
  let info;
  try {
    info = await stat(file);
  } catch {
    return;
  }
  if (info.isDirectory()) throw invalid('a file path', '--out', described(`${file}, which is a folder`));
  if (!force) throw outputTaken(file);
}

/**
 * Writes bytes atomically (a temp file in the same folder, then a rename, or a hard link when not replacing): on any
 * error the target is untouched and no temp file is left.
 * @throws ValidationError when the file exists and `force` is not set.
 */
export async function writeModelFile(file: string, bytes: Uint8Array, force: boolean): Promise<void> {
  await checkOutputFree(file, force);
  try {
    await writeFileAtomic(file, bytes, { overwrite: force });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') throw outputTaken(file);
    if ((error as NodeJS.ErrnoException).code === 'EISDIR') throw invalid('a file path', '--out', described(`${file}, which is a folder`));
    throw cannot(`write ${file}`, (error as Error).message, '--out');
  }
}

/**
 * Resolves the request, emits the model and writes it atomically. Every check, and `beforeWrite` (e.g. measuring the
 * model), runs before the write: on any error no output file exists.
 */
export async function exportOnnxFile(request: ExportRequest, beforeWrite?: (result: ExportResult) => Promise<void>): Promise<ExportResult> {
  const inputs = await resolveExportInputs(request);
  await checkOutputFree(inputs.out, request.force ?? false);
  const emitted = emitOnnx(inputs.spec, inputs.weights, {
    opset: request.opset,
    fp16: request.fp16,
    symmetricPads: request.symmetricPads,
    staticShape: request.staticShape,
    noise: inputs.noise,
    training: inputs.training,
    source: inputs.weightsSource,
  });
  const result = { ...inputs, emitted };
  if (beforeWrite) await beforeWrite(result);
  await writeModelFile(inputs.out, emitted.bytes, request.force ?? false);
  return result;
}

/** How far a float16 model's outputs are from its float32 twin's. */
export interface PrecisionReport {
  maxAbsError: number;
  meanAbsError: number;
  /** The probe input's dims [N, C, H, W]. */
  dims: number[];
}

/**
 * Runs the float32 and float16 models on the same seeded probe images (uniform in [0, 1]) with onnxruntime's CPU
 * provider (through the runtime's session module) and compares the outputs.
 */
export async function measureFp16Error(fp32: Uint8Array, fp16: Uint8Array, spec: NetworkSpec, dims: [number, number] = [64, 64], count = 4): Promise<PrecisionReport> {
  const { openSession } = await import('onnx-denoiser-node/internal');
  const shape = [count, spec.input.channels, dims[0], dims[1]];
  const input = new Float32Array(shape.reduce((a, b) => a * b, 1));
  const rng = new Rng(12345);
  for (let i = 0; i < input.length; i++) input[i] = rng.nextFloat();
  const outputs: Float32Array[] = [];
  for (const bytes of [fp32, fp16]) {
    const session = await openSession(bytes, { device: 'cpu', threads: 1 });
    try {
      // A noise map, where the spec has one: sigma 25 on 0..255 everywhere.
      const map = spec.input.noiseMap === undefined ? [] : [{ name: spec.input.noiseMap, data: new Float32Array(count * dims[0] * dims[1]).fill(25 / 255), dims: [count, 1, dims[0], dims[1]] }];
      outputs.push((await session.run([{ name: spec.input.name, data: input, dims: shape }, ...map], session.outputs[0]!.name)).data as Float32Array);
    } finally {
      await session.release();
    }
  }
  let max = 0;
  let sum = 0;
  for (let i = 0; i < outputs[0]!.length; i++) {
    const d = Math.abs(outputs[0]![i]! - outputs[1]![i]!);
    max = Math.max(max, d);
    sum += d;
  }
  return { maxAbsError: max, meanAbsError: sum / outputs[0]!.length, dims: shape };
}
