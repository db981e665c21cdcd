// The `denoise` command end to end on real files: every format and depth, folders, reports, and each bad input failing alone.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, linkSync, mkdirSync, readdirSync, readFileSync, statSync, watch, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Writable } from 'node:stream';
import { inflateSync } from 'node:zlib';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../runtime-common/rng.js';
import { main } from '../../runtime-node/denoise-cli.js';
import { gpuDeviceNodes } from '../../runtime-node/gpu-nodes.js';
import { boxBlurModel, foreignModel, halfSizeModel, identityModel, noiseMapOffsetModel, noiseReducerLikeModel } from '../../tools/onnx/test-models.js';
import { autoNoiseLevel } from '../../runtime-common/noise-level.js';
import { readImage } from '../../runtime-node/image-file.js';
import { skipWithReason } from '../skip-with-reason.js';
import { tempDirs } from '../temp-dir.js';

const makeTempDir = tempDirs();
const root = makeTempDir('denoise-cli-test-');
const at = (...parts: string[]) => path.join(root, ...parts);
const blurModel = at('blur.onnx');

class Capture extends Writable {
  text = '';
  override _write(chunk: Buffer, _encoding: string, done: () => void): void {
    this.text += chunk.toString();
    done();
  }
}

async function denoise(...args: string[]) {
  const stdout = new Capture();
  const stderr = new Capture();
  const code = await main(args, { stdout, stderr });
  return { code, stdout: stdout.text, stderr: stderr.text };
}

/** `n` seeded bytes, the same for a seed on every run. */
function sample(n: number, seed = 1): Uint8Array {
  const rng = new Rng(seed);
  return Uint8Array.from({ length: n }, () => Math.floor(rng.nextFloat() * 256));
}

async function writeImage(file: string, data: Uint8Array | Uint16Array, width: number, height: number, channels: 1 | 2 | 3 | 4, options: { format?: string; tiff?: object } = {}) {
  const sixteen = data instanceof Uint16Array;
  const space = channels <= 2 ? (sixteen ? 'grey16' : 'b-w') : sixteen ? 'rgb16' : 'srgb';
  const ext = path.extname(file).slice(1);
  const format = options.format ?? ({ jpg: 'jpeg', tif: 'tiff' } as Record<string, string>)[ext] ?? ext;
  await sharp(data, { raw: { width, height, channels } }).toColourspace(space).toFormat(format as 'png', format === 'tiff' ? { compression: 'deflate' } : format === 'webp' || format === 'avif' ? { lossless: true } : {}).toFile(file);
}

/** Decoded pixels of a file as sharp stores them (colour space kept, 16-bit kept). */
async function pixels(file: string): Promise<{ data: Uint8Array | Uint16Array; width: number; height: number; channels: number; depth: string }> {
  const meta = await sharp(file).metadata();
  const sixteen = meta.depth === 'ushort';
  let pipeline = sharp(file);
  if (meta.space === 'grey16' || meta.space === 'rgb16') pipeline = pipeline.toColourspace(meta.space);
  const { data, info } = await (sixteen ? pipeline.raw({ depth: 'ushort' }) : pipeline.raw()).toBuffer({ resolveWithObject: true });
  const values = sixteen ? new Uint16Array(data.buffer, data.byteOffset, data.length / 2) : new Uint8Array(data);
  return { data: values, width: info.width, height: info.height, channels: info.channels, depth: meta.depth ?? '' };
}

/** 3x3 box blur with zero padding of one channel, scaled to [0, 1] and back to the pixel peak, by loops. */
function expectedBlur(data: ArrayLike<number>, width: number, height: number, channels: number, channel: number, peak: number): number[] {
  const out: number[] = [];
  for (let y = 0; y < height; y++) for (let x = 0; x < width; x++) {
    let sum = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const yy = y + dy;
      const xx = x + dx;
      if (yy >= 0 && yy < height && xx >= 0 && xx < width) sum += data[(yy * width + xx) * channels + channel]! / peak;
    }
    out.push(Math.round((sum / 9) * peak));
  }
  return out;
}

function maxDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let max = 0;
  for (let i = 0; i < a.length; i++) max = Math.max(max, Math.abs(a[i]! - b[i]!));
  return max;
}

/** The built `denoise` bin in a child process (signals, the working folder and the environment are its own). */
function denoiseBin(args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}) {
  const r = spawnSync(process.execPath, [path.resolve('runtime-node/bin/denoise.js'), ...args], { encoding: 'utf8', cwd: options.cwd ?? root, env: options.env ?? process.env, timeout: 120_000 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** The environment without any Vulkan driver choice (VK_ICD_FILENAMES, VK_DRIVER_FILES). */
function envWithoutVulkanChoice(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env = { ...process.env, ...extra };
  if (!('VK_ICD_FILENAMES' in extra)) delete env.VK_ICD_FILENAMES;
  delete env.VK_DRIVER_FILES;
  return env;
}

/** Whether this machine lets a child mount a read-only tmpfs in its own mount namespace (root with unshare). */
function canMountReadOnly(): boolean {
  const probe = makeTempDir('ro-probe-');
  return spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${probe}"`], { stdio: 'ignore' }).status === 0;
}

function noTempFiles(folder: string) {
  expect(readdirSync(folder).filter((n) => n.endsWith('.tmp'))).toEqual([]);
}

beforeAll(async () => {
  writeFileSync(blurModel, boxBlurModel());
  mkdirSync(at('in'));
  await writeImage(at('in', 'grey.png'), sample(40 * 30), 40, 30, 1);
  await writeImage(at('in', 'rgb.jpg'), sample(40 * 30 * 3), 40, 30, 3);
});

describe('denoise CLI: bad calls', () => {
  it('usage mistakes exit 2 and say what is wrong', async () => {
    const none = await denoise();
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/error: .*(Not enough non-option arguments|Missing required argument)/);
    const flag = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--speed', '3');
    expect(flag.code).toBe(2);
    expect(flag.stderr).toMatch(/Unknown argument: speed/);
  });

  it('bad option values exit 1 with the standard message, before any file is touched', async () => {
    const device = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--device', 'tpu');
    expect(device.code).toBe(1);
    expect(device.stderr).toContain('Expected one of "auto", "cpu", "webgpu", "cuda" for --device but received "tpu"');
    const tile = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--tile', '40', '--overlap', '32');
    expect(tile.stderr).toContain('Expected an integer >= 65 for --tile but received 40');
    const noise = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--add-noise', '2');
    expect(noise.stderr).toContain('Expected a finite number >= 0 and <= 1 for --add-noise but received 2');
    const format = await denoise(at('in', 'grey.png'), '-o', at('x.bmp'), '--model', blurModel);
    expect(format.stderr).toContain('Expected an output file ending in .png, .jpg, .jpeg, .webp, .tif, .tiff, .avif, .gif (or a folder) for --output but received');
    const cuda = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--device', 'cuda');
    expect(cuda.code).toBe(1);
    expect(cuda.stderr).toMatch(/Expected a device available on this machine for --device but received "cuda": the CUDA provider is not installed/);
    const sigma = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--sigma', 'loud');
    expect(sigma.code).toBe(1);
    expect(sigma.stderr).toContain('Expected "auto" or a number from 0 to 255 (8-bit levels) for --sigma but received "loud"');
    const high = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--sigma', '300');
    expect(high.stderr).toContain('Expected "auto" or a number from 0 to 255 (8-bit levels) for --sigma but received 300');
    const inFlight = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--concurrency', '1025');
    expect(inFlight.stderr).toContain('Expected an integer >= 1 and <= 1024 for --concurrency but received 1025');
    const blind = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--sigma', '10');
    expect(blind.code).toBe(1);
    expect(blind.stderr).toMatch(/Expected "auto" for a blind model \(.*blur.* takes no noise level\) for --sigma but received 10/);
    expect(existsSync(at('x.png'))).toBe(false);
  });

  it('--sigma sets the level a model with a noise map is told; auto (the default) estimates it per image', async () => {
    const mapModel = at('map-offset.onnx');
    writeFileSync(mapModel, noiseMapOffsetModel(3));
    const told = await denoise(at('in', 'rgb.jpg'), '-o', at('told.png'), '--model', mapModel, '--sigma', '20');
    expect(told.code, told.stderr).toBe(0);
    const input = (await readImage(at('in', 'rgb.jpg'))).image;
    const output = (await readImage(at('told.png'))).image;
    // The model adds the map: every sample is the input plus 20 levels (clamped at 255).
    expect(maxDifference(output.data, Array.from(input.data, (v) => Math.min(255, v + 20)))).toBe(0);
    const auto = await denoise(at('in', 'rgb.jpg'), '-o', at('auto.png'), '--model', mapModel);
    expect(auto.code, auto.stderr).toBe(0);
    const level = autoNoiseLevel(input);
    const estimated = (await readImage(at('auto.png'))).image;
    expect(maxDifference(estimated.data, Array.from(input.data, (v) => Math.min(255, Math.round(v + level * 255))))).toBeLessThanOrEqual(1);
  });

  it('several inputs with a file name for --output: an error, and no folder of that name', async () => {
    const r = await denoise(at('in', 'grey.png'), at('in', 'rgb.jpg'), '-o', at('result.png'), '--model', blurModel);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Expected a folder for 2 inputs (a name ending in an image extension is taken for a file: end it with / for a folder of that name) for --output but received "${at('result.png')}"`);
    expect(existsSync(at('result.png'))).toBe(false);
    // One folder input is several inputs too; a trailing slash asks for the folder.
    expect((await denoise(at('in'), '-o', at('result.png'), '--model', blurModel)).code).toBe(1);
    expect(existsSync(at('result.png'))).toBe(false);
    const folder = await denoise(at('in', 'grey.png'), at('in', 'rgb.jpg'), '-o', `${at('result-dir.png')}/`, '--model', blurModel);
    expect(folder.code, folder.stderr).toBe(0);
    expect(readdirSync(at('result-dir.png')).sort()).toEqual(['grey.png', 'rgb.jpg']);
  });

  it('names the flag for an empty --model, and refuses a --max-pixels sharp cannot take before any file', async () => {
    const empty = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', '');
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('error: Expected a model path or bytes for --model but received ""');
    const huge = await denoise(at('in', 'grey.png'), '-o', at('x.png'), '--model', blurModel, '--max-pixels', '1e300');
    expect(huge.code).toBe(1);
    expect(huge.stderr).toBe('error: Expected an integer >= 1 and <= 9007199254740991 for --max-pixels but received 1e+300\n');
    expect(existsSync(at('x.png'))).toBe(false);
  });

  it('takes names after -- as inputs, even one that starts with a dash', async () => {
    const dash = makeTempDir('denoise-dash-');
    await writeImage(path.join(dash, '-dash.png'), sample(20 * 10), 20, 10, 1);
    await writeImage(path.join(dash, 'plain.png'), sample(20 * 10, 2), 20, 10, 1);
    const one = denoiseBin(['--model', blurModel, '--', '-dash.png'], { cwd: dash });
    expect(one.code, one.stderr).toBe(0);
    expect(existsSync(path.join(dash, '-dash.denoised.png'))).toBe(true);
    // Before -- options still count; after it, nothing is an option (so "-o" is a file that is missing).
    const mixed = denoiseBin(['plain.png', '--model', blurModel, '-o', 'out/', '--', '-dash.png', '-o'], { cwd: dash });
    expect(mixed.code).toBe(1);
    expect(readdirSync(path.join(dash, 'out')).sort()).toEqual(['-dash.png', 'plain.png']);
    expect(mixed.stderr).toMatch(/denoised 2 of 3 files in [\d.]+ s on cpu; 1 failed: -o\n/);
  });

  it('a named webgpu device that cannot start says so in one line, without Dawn\'s own output', () => {
    const missingDriver = denoiseBin([at('in', 'grey.png'), '-o', at('w.png'), '--model', blurModel, '--device', 'webgpu'], { env: envWithoutVulkanChoice({ VK_ICD_FILENAMES: '/nonexistent/vk_icd.json' }) });
    expect(missingDriver.code).toBe(1);
    expect(missingDriver.stderr).toBe('error: Expected a device available on this machine for --device but received "webgpu": no Vulkan driver: the file VK_ICD_FILENAMES names (/nonexistent/vk_icd.json) does not exist\n');
    expect(existsSync(at('w.png'))).toBe(false);
  });

  it('a named webgpu device on a machine without GPU device nodes says so in one line (skipped where a GPU node exists)', (ctx) => {
    // With a GPU node and no driver named, Dawn may well start: only its absence makes the failure certain.
    skipWithReason(ctx, gpuDeviceNodes().length > 0, `this machine has GPU device nodes (${gpuDeviceNodes().join(', ')}), so WebGPU may start`);
    const noGpu = denoiseBin([at('in', 'grey.png'), '-o', at('w.png'), '--model', blurModel, '--device', 'webgpu'], { env: envWithoutVulkanChoice() });
    expect(noGpu.code).toBe(1);
    expect(noGpu.stderr.split('\n').filter(Boolean)).toEqual([expect.stringMatching(/^error: Expected a device available on this machine for --device but received "webgpu": no GPU here \(no \/dev\/dri\/renderD\*/)]);
    expect(existsSync(at('w.png'))).toBe(false);
  });

  it('a foreign model whose output is not the image\'s size fails each file naming the model, and writes nothing', async () => {
    writeFileSync(at('half.onnx'), halfSizeModel());
    const r = await denoise(at('in'), '-o', at('half-out'), '--model', at('half.onnx'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: Expected [1, 1, 30, 40] (the input's N, C, H, W) for the output shape of ${at('half.onnx')} but received [1, 1, 15, 20]: it is not a denoiser that keeps the image size`);
    expect(r.stderr).toMatch(/denoised 0 of 2 files/);
    expect(existsSync(at('half-out')) ? readdirSync(at('half-out')) : []).toEqual([]);
  });

  it('a missing, corrupt or foreign model fails clearly and writes nothing', async () => {
    writeFileSync(at('foreign.onnx'), foreignModel());
    writeFileSync(at('corrupt.onnx'), readFileSync(blurModel).subarray(0, 30));
    const missing = await denoise(at('in', 'grey.png'), '-o', at('m.png'), '--model', at('none.onnx'));
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain(`error: Cannot read model file ${at('none.onnx')}: no such file`);
    const corrupt = await denoise(at('in', 'grey.png'), '-o', at('m.png'), '--model', at('corrupt.onnx'));
    expect(corrupt.stderr).toContain(`error: Expected an ONNX model file for ${at('corrupt.onnx')} but received bytes that are not one`);
    const foreign = await denoise(at('in', 'grey.png'), '-o', at('m.png'), '--model', at('foreign.onnx'));
    expect(foreign.stderr).toContain(`for ${at('foreign.onnx')} but received a model with 2 input(s)`);
    expect(existsSync(at('m.png'))).toBe(false);
  });

  it('each bad file fails alone: missing, not an image, empty, truncated PNG and JPEG, too large; the rest are denoised', async () => {
    const dir = at('mixed');
    mkdirSync(dir);
    await writeImage(path.join(dir, 'a-good.png'), sample(32 * 32), 32, 32, 1);
    writeFileSync(path.join(dir, 'b-text.png'), 'not an image\n');
    writeFileSync(path.join(dir, 'c-empty.jpg'), '');
    await writeImage(path.join(dir, 'whole.png'), sample(64 * 64 * 3), 64, 64, 3);
    await writeImage(path.join(dir, 'whole.jpg'), sample(64 * 64 * 3), 64, 64, 3);
    const half = (name: string) => readFileSync(path.join(dir, name)).subarray(0, Math.floor(readFileSync(path.join(dir, name)).length / 2));
    writeFileSync(path.join(dir, 'd-cut.png'), half('whole.png'));
    writeFileSync(path.join(dir, 'e-cut.jpg'), half('whole.jpg'));
    await writeImage(path.join(dir, 'f-big.png'), new Uint8Array(120 * 100), 120, 100, 1);
    const out = at('mixed-out');
    const r = await denoise(dir, path.join(dir, 'z-missing.png'), '-o', out, '--model', blurModel, '--max-pixels', '10000');
    expect(r.code).toBe(1);
    // Files are read while the model opens, but their lines come after the first one, even those that failed first.
    expect(r.stderr.split('\n')[0]).toMatch(/^denoise: 9 files on cpu/);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'b-text.png')}: not an image in a format sharp reads`);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'c-empty.jpg')}: empty file (0 bytes), not an image`);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'd-cut.png')}: truncated or damaged image data (PNG chunk IDAT at byte`);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'e-cut.jpg')}: truncated or damaged image data (VipsJpeg: premature end of JPEG image)`);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'f-big.png')}: 120x100 is 0.01 MP, over the limit of 0.01 MP (10000 pixels); raise it with --max-pixels`);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'z-missing.png')}: no such file`);
    expect(r.stderr).toMatch(/denoised 3 of 9 files in [\d.]+ s on cpu; 6 failed: /);
    expect(readdirSync(out).sort()).toEqual(['a-good.png', 'whole.jpg', 'whole.png']);
    noTempFiles(out);
  });

  it('a large PNG whose image data is damaged fails alone (its first tiles may have run): the reason, no output, the rest denoised', async () => {
    const dir = at('large-damaged');
    mkdirSync(dir);
    await writeImage(path.join(dir, 'a-good.png'), sample(300 * 260, 3), 300, 260, 1);
    const png = readFileSync(path.join(dir, 'a-good.png'));
    // The image data's zlib stream garbled from its middle on, the chunk structure left whole.
    const idat = png.indexOf('IDAT', 8, 'latin1');
    const length = png.readUInt32BE(idat - 4);
    const damaged = Buffer.from(png);
    damaged.fill(0xff, idat + 4 + (length >> 1), idat + 4 + length);
    writeFileSync(path.join(dir, 'b-damaged.png'), damaged);
    const out = at('large-damaged-out');
    const r = await denoise(dir, '-o', out, '--model', blurModel, '--tile', '64');
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`error: ${path.join(dir, 'b-damaged.png')}: truncated or damaged image data (PNG image data`);
    expect(readdirSync(out)).toEqual(['a-good.png']);
    noTempFiles(out);
  });

  it('an output folder that cannot be written fails every file with the reason, and leaves nothing behind', async () => {
    writeFileSync(at('a-file'), 'I am a file, not a folder');
    const r = await denoise(at('in'), '-o', at('a-file', 'sub'), '--model', blurModel);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot write ${at('a-file', 'sub', 'grey.png')}: ${at('a-file')} is a file, not a folder`);
    expect(r.stderr).toMatch(/denoised 0 of 2 files/);
    // Directly under the file, with or without --force: the same cause, not "it already exists".
    for (const force of [[], ['--force']]) {
      const under = await denoise(at('in', 'grey.png'), '-o', at('a-file', 'out.png'), '--model', blurModel, ...force);
      expect(under.code).toBe(1);
      expect(under.stderr).toContain(`error: cannot write ${at('a-file', 'out.png')}: ${at('a-file')} is a file, not a folder`);
    }
    const folderIsFile = await denoise(at('in'), '-o', at('a-file'), '--model', blurModel);
    expect(folderIsFile.code).toBe(1);
    expect(folderIsFile.stderr).toContain(`Expected a folder (several inputs go into a folder) for --output but received "${at('a-file')}"`);
  });

  it('a subfolder on a read-only file system: says so, not a raw ENOENT (needs root with unshare)', (ctx) => {
    skipWithReason(ctx, !canMountReadOnly(), 'unshare cannot mount a read-only file system here (it needs root)');
    const ro = makeTempDir('denoise-ro-');
    const target = path.join(ro, 'a', 'b', 'out.png');
    const cli = path.resolve('runtime-node/bin/denoise.js');
    const r = spawnSync('unshare', ['-m', 'sh', '-c', `mount -t tmpfs -o ro tmpfs "${ro}" && exec "${process.execPath}" "${cli}" "${at('in', 'grey.png')}" -o "${target}" --model "${blurModel}"`], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`error: cannot write ${target}: ${ro} is on a read-only file system`);
    expect(r.stderr).not.toMatch(/ENOENT/);
  });

  it('Ctrl-C while an output is being written: exit 130 and no temp file left', async () => {
    const dir = makeTempDir('denoise-sigint-');
    const big = path.join(dir, 'big.png');
    // Noise does not compress: a 40 MB PNG takes a while to write.
    await writeImage(big, sample(2600 * 2600 * 3, 5), 2600, 2600, 3);
    const identity = path.join(dir, 'identity.onnx');
    writeFileSync(identity, identityModel());
    const out = path.join(dir, 'out');
    mkdirSync(out);
    const child = spawn(process.execPath, [path.resolve('runtime-node/bin/denoise.js'), big, '-o', path.join(out, 'big.png'), '--model', identity]);
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    let sawTemp = false;
    const watcher = watch(out, (_event, name) => {
      if (!sawTemp && name?.endsWith('.tmp')) {
        sawTemp = true;
        child.kill('SIGINT');
      }
    });
    const code = await exited;
    watcher.close();
    expect(sawTemp, stderr).toBe(true);
    expect(code, stderr).toBe(130);
    expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 120_000);

  it('Ctrl-C while the model\'s lanes run a large image\'s tiles: they finish their runs, then exit 130 (no abort), no temp file left', async () => {
    const dir = makeTempDir('denoise-sigint-lanes-');
    const big = path.join(dir, 'big.png');
    await writeImage(big, sample(6000 * 6000, 6), 6000, 6000, 1);
    const model = path.join(dir, 'model.onnx');
    writeFileSync(model, noiseReducerLikeModel(2));
    const out = path.join(dir, 'out');
    mkdirSync(out);
    // Three runs, interrupted at different points of the tiles (the whole run takes seconds; the lanes are up after
    // about 0.3 s here).
    for (const delay of [500, 800, 1100]) {
      const child = spawn(process.execPath, [path.resolve('runtime-node/bin/denoise.js'), big, '-o', path.join(out, 'big.png'), '--model', model, '--device', 'cpu', '--threads', '2', '--force']);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      setTimeout(() => child.kill('SIGINT'), delay);
      const code = await exited;
      expect(stderr).not.toMatch(/terminate called|Napi::Error/);
      expect(code, stderr).toBe(130);
      expect(readdirSync(out)).toEqual([]);
    }
  }, 120_000);

  it('Ctrl-C during a folder of small files (the model on its own thread): the thread finishes its batch, then exit 130 (no abort), no temp file left', async () => {
    const dir = makeTempDir('denoise-sigint-folder-');
    const folder = path.join(dir, 'in');
    mkdirSync(folder);
    const png = await sharp(sample(28 * 28, 8), { raw: { width: 28, height: 28, channels: 1 } }).png().toBuffer();
    for (let i = 0; i < 2000; i++) writeFileSync(path.join(folder, `img-${String(i).padStart(4, '0')}.png`), png);
    const model = path.join(dir, 'model.onnx');
    writeFileSync(model, noiseReducerLikeModel(2));
    // Interrupted at several points once results are being written: the thread is inside a run much of the time.
    for (const delay of [0, 15, 30, 45, 60, 90, 120, 160, 200, 250]) {
      const out = path.join(dir, `out-${delay}`);
      mkdirSync(out);
      const child = spawn(process.execPath, [path.resolve('runtime-node/bin/denoise.js'), folder, '-o', out, '--model', model, '--device', 'cpu', '--force']);
      let stderr = '';
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      let seen = false;
      const watcher = watch(out, () => {
        if (seen) return;
        seen = true;
        setTimeout(() => child.kill('SIGINT'), delay);
      });
      const code = await exited;
      watcher.close();
      expect(stderr).not.toMatch(/terminate called|Napi::Error/);
      expect(code, stderr).toBe(130);
      expect(readdirSync(out).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    }
  }, 120_000);

  it('never overwrites an input, even with --force; refuses existing outputs without --force', async () => {
    const input = at('in', 'grey.png');
    const before = readFileSync(input);
    const same = await denoise(input, '-o', input, '--model', blurModel, '--force');
    expect(same.code).toBe(1);
    expect(same.stderr).toContain(`output ${input} is the input file ${input}; inputs are never overwritten`);
    const intoOwnFolder = await denoise(at('in'), '-o', at('in'), '--model', blurModel, '--force');
    expect(intoOwnFolder.code).toBe(1);
    expect(intoOwnFolder.stderr).toMatch(/denoised 0 of 2 files/);
    // Another name for the input (a hard link) in the output folder: found in the folder's listing, then matched by inode.
    mkdirSync(at('linked'), { recursive: true });
    linkSync(input, at('linked', 'grey.png'));
    const linked = await denoise(input, '-o', at('linked', 'grey.png'), '--model', blurModel, '--force');
    expect(linked.code).toBe(1);
    expect(linked.stderr).toContain(`output ${at('linked', 'grey.png')} is the input file ${input}; inputs are never overwritten`);
    expect(readFileSync(input)).toEqual(before);
    writeFileSync(at('exists.png'), 'old');
    const exists = await denoise(input, '-o', at('exists.png'), '--model', blurModel);
    expect(exists.code).toBe(1);
    expect(exists.stderr).toContain(`output ${at('exists.png')} already exists (use --force to replace it)`);
    expect(readFileSync(at('exists.png'), 'utf8')).toBe('old');
    const forced = await denoise(input, '-o', at('exists.png'), '--model', blurModel, '--force');
    expect(forced.code).toBe(0);
    expect((await sharp(at('exists.png')).metadata()).format).toBe('png');
  });
});

describe('denoise CLI', () => {
  it('its shebang gives Node glibc\'s huge-page tunable (skipped on Windows; test/tools/cli.test.ts runs the bins through it)', (ctx) => {
    skipWithReason(ctx, process.platform === 'win32', 'Windows runs bins through npm\'s shims, not shebangs');
    const bin = path.resolve('runtime-node/bin/denoise.js');
    // What the kernel does with the shebang: the interpreter, one argument, then the script; here a script that prints the variable.
    const [interpreter, argument] = readFileSync(bin, 'utf8').split('\n')[0]!.slice(2).split(/ (.*)/);
    const seen = spawnSync(interpreter!, [argument!, '-e', 'process.stdout.write(String(process.env.GLIBC_TUNABLES))'], { encoding: 'utf8', env: { ...process.env, GLIBC_TUNABLES: '' } });
    expect(seen.stdout).toBe('glibc.malloc.hugetlb=1');
  });

  it('--help says what the pixel limit costs', async () => {
    const r = denoiseBin(['--help']);
    expect(r.code).toBe(0);
    expect(r.stdout.replace(/\s+/g, ' ')).toContain('Near the default 100 MP an image costs about 0.55 GB of memory (8-bit grey) to 1.2 GB (8-bit RGB) per file in flight (see --concurrency)');
  });

  it('denoises every format and depth in a folder, matching a brute-force blur; alpha kept; 16-bit kept where the format can', async () => {
    const dir = at('formats');
    mkdirSync(dir);
    const w = 37;
    const h = 23;
    const files: Record<string, { data: Uint8Array | Uint16Array; channels: 1 | 2 | 3 | 4; lossless: boolean }> = {
      'g8.png': { data: sample(w * h), channels: 1, lossless: true },
      'g16.png': { data: new Uint16Array(w * h).map((_, i) => (i * 7919) % 65536), channels: 1, lossless: true },
      'ga8.png': { data: sample(w * h * 2, 2), channels: 2, lossless: true },
      'rgb16.png': { data: new Uint16Array(w * h * 3).map((_, i) => (i * 4099) % 65536), channels: 3, lossless: true },
      'rgba8.png': { data: sample(w * h * 4, 3), channels: 4, lossless: true },
      'g16.tif': { data: new Uint16Array(w * h).map((_, i) => (i * 313) % 65536), channels: 1, lossless: true },
      'rgb8.tiff': { data: sample(w * h * 3, 4), channels: 3, lossless: true },
      'rgb.jpg': { data: sample(w * h * 3, 5), channels: 3, lossless: false },
      'rgba.webp': { data: sample(w * h * 4, 6), channels: 4, lossless: false },
      'rgb.avif': { data: sample(w * h * 3, 7), channels: 3, lossless: false },
      'rgb.gif': { data: sample(w * h * 3, 8), channels: 3, lossless: false },
    };
    for (const [name, f] of Object.entries(files)) await writeImage(path.join(dir, name), f.data, w, h, f.channels);
    const out = at('formats-out');
    const r = await denoise(dir, '-o', out, '--model', blurModel, '--json', '--concurrency', '3');
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.filter((l) => l.type === 'file')).toHaveLength(Object.keys(files).length);
    expect(lines[lines.length - 1]).toMatchObject({ type: 'summary', files: 11, denoised: 11, failed: 0, device: 'cpu' });
    for (const name of Object.keys(files)) {
      const input = await pixels(path.join(dir, name));
      const output = await pixels(path.join(out, name));
      expect([output.width, output.height], name).toEqual([w, h]);
      expect(output.channels, name).toBe(input.channels);
      expect(output.depth, name).toBe(input.depth);
      const report = lines.find((l) => l.input === path.join(dir, name));
      expect(report, name).toMatchObject({ ok: true, output: path.join(out, name), width: w, height: h, bitDepth: input.depth === 'ushort' ? 16 : 8 });
      if (!files[name]!.lossless) continue;
      const peak = input.depth === 'ushort' ? 65535 : 255;
      const colour = input.channels === 2 || input.channels === 4 ? input.channels - 1 : input.channels;
      for (let c = 0; c < input.channels; c++) {
        const got = Array.from({ length: w * h }, (_, n) => output.data[n * input.channels + c]!);
        const want = c < colour ? expectedBlur(input.data, w, h, input.channels, c, peak) : Array.from({ length: w * h }, (_, n) => input.data[n * input.channels + c]!);
        expect(maxDifference(got, want), `${name} channel ${c}`).toBeLessThanOrEqual(c < colour ? 1 : 0);
      }
    }
    noTempFiles(out);
  });

  it('writes large PNGs as their tiles finish (every row Up-filtered, as sharp never writes them), matching a brute-force blur, 16 bits kept; a PNG with an ICC profile goes through sharp', async () => {
    const dir = at('large-png');
    mkdirSync(dir);
    const w = 300;
    const h = 260;
    const files: Record<string, { data: Uint8Array | Uint16Array; channels: 1 | 2 | 3 | 4 }> = {
      'g8.png': { data: sample(w * h, 11), channels: 1 },
      'rgba16.png': { data: new Uint16Array(w * h * 4).map((_, i) => (i * 7919) % 65536), channels: 4 },
    };
    for (const [name, f] of Object.entries(files)) await writeImage(path.join(dir, name), f.data, w, h, f.channels);
    await sharp(sample(w * h * 3, 12), { raw: { width: w, height: h, channels: 3 } }).withIccProfile('p3').png().toFile(path.join(dir, 'icc.png'));
    const out = at('large-png-out');
    const r = await denoise(dir, '-o', out, '--model', blurModel, '--tile', '64');
    expect(r.stderr).not.toMatch(/error:/);
    expect(r.code).toBe(0);
    /** The filter byte of every row of a PNG's image data. */
    const filters = (file: string, rowBytes: number) => {
      const png = readFileSync(file);
      const parts: Buffer[] = [];
      for (let at = 8; at + 12 <= png.length; at += 12 + png.readUInt32BE(at)) if (png.toString('latin1', at + 4, at + 8) === 'IDAT') parts.push(png.subarray(at + 8, at + 8 + png.readUInt32BE(at)));
      const raw = inflateSync(Buffer.concat(parts));
      return new Set(Array.from({ length: raw.length / (rowBytes + 1) }, (_, y) => raw[y * (rowBytes + 1)]));
    };
    for (const [name, f] of Object.entries(files)) {
      const input = await pixels(path.join(dir, name));
      const output = await pixels(path.join(out, name));
      expect([output.width, output.height, output.channels, output.depth], name).toEqual([w, h, input.channels, input.depth]);
      const sixteen = input.depth === 'ushort';
      expect(filters(path.join(out, name), w * f.channels * (sixteen ? 2 : 1)), name).toEqual(new Set([2]));
      const colour = input.channels === 2 || input.channels === 4 ? input.channels - 1 : input.channels;
      for (let c = 0; c < input.channels; c++) {
        const got = Array.from({ length: w * h }, (_, n) => output.data[n * input.channels + c]!);
        const want = c < colour ? expectedBlur(input.data, w, h, input.channels, c, sixteen ? 65535 : 255) : Array.from({ length: w * h }, (_, n) => input.data[n * input.channels + c]!);
        expect(maxDifference(got, want), `${name} channel ${c}`).toBeLessThanOrEqual(c < colour ? 1 : 0);
      }
    }
    // The profile is kept (sharp's path), so its rows are not all Up-filtered by this writer.
    expect((await sharp(path.join(out, 'icc.png')).metadata()).icc).toBeDefined();
    expect(filters(path.join(out, 'icc.png'), w * 3)).not.toEqual(new Set([2]));
    noTempFiles(out);
  });

  it('inputs all under 64 KB run onnxruntime on one thread, and the first line says so; --threads, or one larger input, keeps the default', async () => {
    const small = await denoise(at('in', 'grey.png'), '-o', at('threads', 'a.png'), '--model', blurModel);
    expect(small.code).toBe(0);
    // (Between the device and the thread note: which devices `auto` skipped, and why.)
    expect(small.stderr).toMatch(/^denoise: 1 file on cpu.*, one onnxruntime thread \(every input is under 64 KB\), model /m);
    const told = await denoise(at('in', 'grey.png'), '-o', at('threads', 'b.png'), '--model', blurModel, '--threads', '2');
    expect(told.stderr).toMatch(/^denoise: 1 file on cpu/m);
    expect(told.stderr).not.toContain('one onnxruntime thread');
    // Random pixels do not compress: 200x200 RGB is about 120 KB as a PNG.
    mkdirSync(at('threads-in'), { recursive: true });
    await writeImage(at('threads-in', 'large.png'), sample(200 * 200 * 3, 9), 200, 200, 3);
    expect(statSync(at('threads-in', 'large.png')).size).toBeGreaterThan(65_536);
    const mixed = await denoise(at('in', 'grey.png'), at('threads-in', 'large.png'), '-o', at('threads', 'mixed'), '--model', blurModel);
    expect(mixed.code).toBe(0);
    expect(mixed.stderr).toMatch(/^denoise: 2 files on cpu/m);
    expect(mixed.stderr).not.toContain('one onnxruntime thread');
  });

  it('one file to a file of another format, with plain progress lines and a summary', async () => {
    const r = await denoise(at('in', 'grey.png'), '-o', at('single', 'grey.webp'), '--model', blurModel);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(`${at('in', 'grey.png')} -> ${at('single', 'grey.webp')}: 40x30 grey 8-bit`);
    expect(r.stderr).toMatch(/denoise: 1 file on cpu/);
    // The blur model states no receptive field: the library's warning is printed, once.
    expect(r.stderr.match(/^warning: .*$/gm)).toEqual([`warning: ${blurModel} does not state its receptive field (metadata "receptive_field"): tiling assumes [-32, 32] and overlaps tiles by 66 px unless told otherwise; seams may show if the network sees farther`]);
    expect(r.stderr).toMatch(/denoised 1 of 1 file in/);
    expect((await sharp(at('single', 'grey.webp')).metadata()).format).toBe('webp');
    const batch = await denoise(at('in', 'grey.png'), at('in', 'rgb.jpg'), '-o', at('pair'), '--model', blurModel, '--concurrency', '1');
    expect(batch.stdout).toMatch(/^\[1\/2\] .*grey\.png -> .*\n\[2\/2\] .*rgb\.jpg -> /);
  });

  it('shows a progress bar on a terminal and still prints every result', async () => {
    const stdout = Object.assign(new Capture(), { isTTY: true, columns: 100 });
    const stderr = Object.assign(new Capture(), { isTTY: true, columns: 100 });
    const code = await main([at('in'), '-o', at('tty-out'), '--model', blurModel], { stdout, stderr });
    expect(code).toBe(0);
    expect(stderr.text).toMatch(/denoise \[[\u2588\u2591]+\] \d\/2 files/);
    expect(stderr.text).toContain(`${at('in', 'grey.png')} -> ${at('tty-out', 'grey.png')}`);
    expect(stderr.text).toContain(`${at('in', 'rgb.jpg')} -> ${at('tty-out', 'rgb.jpg')}`);
    expect(stderr.text).toMatch(/denoised 2 of 2 files/);
  });

  it('--add-noise is seeded, and scores against the clean input; --compare writes the three panels', async () => {
    const clean = at('clean.png');
    await writeImage(clean, new Uint8Array(48 * 40).map((_, i) => 80 + (i % 48) * 2), 48, 40, 1);
    const args = ['--model', blurModel, '--add-noise', '0.2', '--seed', '9', '--json'];
    const a = await denoise(clean, '-o', at('noisy-a.png'), ...args, '--compare', at('compare.png'));
    const b = await denoise(clean, '-o', at('noisy-b.png'), ...args);
    const c = await denoise(clean, '-o', at('noisy-c.png'), ...args.slice(0, -2), '10', '--json');
    expect(a.code).toBe(0);
    expect(readFileSync(at('noisy-a.png'))).toEqual(readFileSync(at('noisy-b.png')));
    expect(readFileSync(at('noisy-a.png'))).not.toEqual(readFileSync(at('noisy-c.png')));
    const report = JSON.parse(a.stdout.split('\n')[0]!);
    expect(report.metrics.reference).toBe(`${clean} (clean, before --add-noise)`);
    // A box blur removes much of strong white noise on a smooth ramp.
    expect(report.metrics.psnrGain).toBeGreaterThan(3);
    expect(report.metrics.denoised.ssim).toBeGreaterThan(report.metrics.noisy.ssim);
    const meta = await sharp(at('compare.png')).metadata();
    // Three 48-pixel panels with 8-pixel gaps: 3 * (48 + 8) + 8.
    expect(meta.width).toBe(176);
    expect(report.compare).toBe(at('compare.png'));
  });

  it('--add-noise on a large PNG (read as it decodes) adds the noise to the whole image: as from the same pixels in a TIFF', async () => {
    const data = new Uint8Array(300 * 260).map((_, i) => 60 + ((i % 300) >> 1) + (Math.floor(i / 300) % 40));
    await writeImage(at('large-clean.png'), data, 300, 260, 1);
    await writeImage(at('large-clean.tif'), data, 300, 260, 1);
    const args = ['--model', blurModel, '--add-noise', '0.2', '--seed', '4', '--json', '--tile', '64'];
    const fromPng = await denoise(at('large-clean.png'), '-o', at('large-noisy-png.png'), ...args);
    const fromTiff = await denoise(at('large-clean.tif'), '-o', at('large-noisy-tif.png'), ...args);
    expect([fromPng.code, fromTiff.code]).toEqual([0, 0]);
    expect(readFileSync(at('large-noisy-png.png'))).toEqual(readFileSync(at('large-noisy-tif.png')));
    const metrics = (stdout: string) => JSON.parse(stdout.split('\n')[0]!).metrics as { noisy: unknown; denoised: unknown };
    expect(metrics(fromPng.stdout).noisy).toEqual(metrics(fromTiff.stdout).noisy);
    expect(metrics(fromPng.stdout).denoised).toEqual(metrics(fromTiff.stdout).denoised);
  });

  it('--reference prints PSNR and SSIM that match a computation from the files', async () => {
    const reference = at('ref.png');
    await writeImage(reference, new Uint8Array(30 * 20).map((_, i) => 100 + (i % 30)), 30, 20, 1);
    const r = await denoise(at('in', 'grey.png'), '-o', at('scored.png'), '--model', blurModel, '--reference', reference).catch((e) => e);
    // grey.png is 40x30: a size mismatch is named.
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`reference ${reference} is 30x20 but the image is 40x30`);
    const input = at('ref-in.png');
    await writeImage(input, new Uint8Array(30 * 20).map((_, i) => 100 + (i % 30) + ((i * 7) % 11) - 5), 30, 20, 1);
    const ok = await denoise(input, '-o', at('scored.png'), '--model', blurModel, '--reference', reference);
    expect(ok.code).toBe(0);
    const [den, ref, inp] = await Promise.all([pixels(at('scored.png')), pixels(reference), pixels(input)]);
    const psnr = (x: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 0; i < x.length; i++) sum += ((x[i]! - ref.data[i]!) / 255) ** 2;
      return 10 * Math.log10(1 / (sum / x.length));
    };
    const match = /PSNR ([\d.]+) -> ([\d.]+) dB \(([+-][\d.]+)\), SSIM ([\d.]+) -> ([\d.]+)/.exec(ok.stdout);
    expect(match).not.toBeNull();
    expect(Number(match![1])).toBeCloseTo(psnr(inp.data), 2);
    expect(Number(match![2])).toBeCloseTo(psnr(den.data), 2);
    expect(Number(match![4])).toBeGreaterThan(0);
    expect(Number(match![5])).toBeLessThanOrEqual(1);
    // One input into a folder still takes a reference file and a comparison file; neither may replace the reference.
    const intoFolder = await denoise(input, '-o', at('scored-dir') + path.sep, '--model', blurModel, '--reference', reference, '--compare', at('scored-dir', 'side.png'));
    expect(intoFolder.code).toBe(0);
    expect(existsSync(at('scored-dir', 'ref-in.png'))).toBe(true);
    expect(existsSync(at('scored-dir', 'side.png'))).toBe(true);
    const before = readFileSync(reference);
    const clobber = await denoise(input, '-o', at('scored-2.png'), '--model', blurModel, '--reference', reference, '--compare', reference, '--force');
    expect(clobber.code).toBe(1);
    expect(clobber.stderr).toContain(`comparison picture ${reference} is the input file ${reference}; inputs are never overwritten`);
    expect(readFileSync(reference)).toEqual(before);
    const several = await denoise(input, at('in', 'grey.png'), '-o', at('several'), '--model', blurModel, '--reference', reference);
    expect(several.code).toBe(1);
    expect(several.stderr).toContain(`Expected a folder of references matched by file name (several inputs) for --reference but received "${reference}"`);
  });
});

describe('denoise CLI: many small files (model runs batched on a thread of their own)', () => {
  /** A folder of `count` small PNGs (grey, RGB, 16-bit grey, grey + alpha; sizes vary), written once per name. */
  async function smallFolder(name: string, count: number): Promise<string> {
    const dir = at(name);
    mkdirSync(dir);
    for (let i = 0; i < count; i++) {
      const file = path.join(dir, `img-${String(i).padStart(2, '0')}.png`);
      if (i % 7 === 3) await writeImage(file, sample(30 * 20 * 3, i), 30, 20, 3);
      else if (i % 7 === 5) await writeImage(file, Uint16Array.from(sample(28 * 28, i), (v) => v * 257), 28, 28, 1);
      else if (i % 7 === 6) await writeImage(file, sample(28 * 28 * 2, i), 28, 28, 2);
      else await writeImage(file, sample(28 * 28, i), 28, 28, 1);
    }
    return dir;
  }

  it('a missing model is one error for the run, as on one thread: no line per file and no output folder', async () => {
    const dir = await smallFolder('many-bad-model', 20);
    const missing = at('no-such-model.onnx');
    const threaded = denoiseBin([dir, '-o', at('many-bad-model-out'), '--model', missing]);
    const inline = await denoise(dir, '-o', at('many-bad-model-out'), '--model', missing);
    expect(threaded.code).toBe(1);
    expect(threaded.stderr).toBe(`error: Cannot read model file ${missing}: no such file\n`);
    expect(threaded.stderr).toBe(inline.stderr);
    expect(existsSync(at('many-bad-model-out'))).toBe(false);
  });

  it('the bin\'s threaded run writes the very files the single-thread run writes (a brute-force blur), and bad files fail alone', async () => {
    const dir = await smallFolder('many', 22);
    writeFileSync(path.join(dir, 'img-90-text.png'), 'not an image\n');
    writeFileSync(path.join(dir, 'img-91-cut.png'), readFileSync(path.join(dir, 'img-00.png')).subarray(0, 60));
    const threaded = denoiseBin([dir, '-o', at('many-out'), '--model', blurModel]);
    const inline = await denoise(dir, '-o', at('many-inline'), '--model', blurModel);
    expect(threaded.code).toBe(1);
    expect(threaded.stderr).toMatch(/^denoise: 24 files on cpu.*, one onnxruntime thread \(every input is under 64 KB\), model runs batched on a thread of their own, model /m);
    expect(inline.stderr).not.toContain('a thread of their own');
    expect(threaded.stderr).toContain(`error: ${path.join(dir, 'img-90-text.png')}: not an image in a format sharp reads`);
    expect(threaded.stderr).toMatch(new RegExp(`error: ${path.join(dir, 'img-91-cut.png')}: truncated or damaged image data`));
    expect(threaded.stderr).toMatch(/denoised 22 of 24 files in [\d.]+ s on cpu; 2 failed: /);
    // The same report lines (their counters and timings aside: files finish in another order) and the same bytes.
    const lines = (text: string) => text.split('\n').map((line) => line.replace(/^\[\d+\/24\] /, '').replace(/, [\d.]+ s$/, '').replace(/-(out|inline)\//, '/')).sort();
    expect(lines(threaded.stdout)).toEqual(lines(inline.stdout));
    const names = readdirSync(at('many-out')).sort();
    expect(names).toEqual(readdirSync(at('many-inline')).sort());
    expect(names).toHaveLength(22);
    for (const name of names) expect(readFileSync(at('many-out', name)).equals(readFileSync(at('many-inline', name))), name).toBe(true);
    // Grey, RGB and 16-bit grey against the loops (grey + alpha is checked so in the folder test above).
    for (const name of ['img-00.png', 'img-03.png', 'img-05.png']) {
      const input = await pixels(path.join(dir, name));
      const output = await pixels(at('many-out', name));
      const peak = input.depth === 'ushort' ? 65535 : 255;
      for (let c = 0; c < input.channels; c++) {
        const got = Array.from(output.data).filter((_, i) => i % input.channels === c);
        expect(maxDifference(got, expectedBlur(input.data, input.width, input.height, input.channels, c, peak)), `${name} channel ${c}`).toBeLessThanOrEqual(1);
      }
    }
    noTempFiles(at('many-out'));
  });

  it('runs threaded when Node was started with a string of code (--input-type=module -e, as benchmarks wrap it)', () => {
    const cli = path.resolve('runtime-node/bin/denoise.js');
    const wrapper = `process.argv.splice(1, 0, ${JSON.stringify(cli)}); await import(${JSON.stringify(cli)});`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', wrapper, at('many'), '-o', at('many-eval'), '--model', blurModel], { encoding: 'utf8', timeout: 120_000 });
    expect(r.stderr).toMatch(/^denoise: 24 files on cpu.*, model runs batched on a thread of their own, /m);
    expect(r.stderr).toMatch(/denoised 22 of 24 files/);
    expect(readdirSync(at('many-eval'))).toHaveLength(22);
  });

  it('a file under 64 KB holding a large image (a flat 2000x2000 PNG) goes through too, the same bytes as on one thread', async () => {
    const dir = await smallFolder('many-large', 16);
    await writeImage(path.join(dir, 'flat.png'), new Uint8Array(2000 * 2000).fill(77), 2000, 2000, 1);
    expect(statSync(path.join(dir, 'flat.png')).size).toBeLessThan(65_536);
    const threaded = denoiseBin([dir, '-o', at('many-large-out'), '--model', blurModel]);
    expect(threaded.code).toBe(0);
    expect(threaded.stderr).toMatch(/model runs batched on a thread of their own/);
    const inline = await denoise(dir, '-o', at('many-large-inline'), '--model', blurModel);
    expect(inline.code).toBe(0);
    for (const name of readdirSync(at('many-large-inline'))) expect(readFileSync(at('many-large-out', name)).equals(readFileSync(at('many-large-inline', name))), name).toBe(true);
    expect(readdirSync(at('many-large-out'))).toHaveLength(17);
  });

  it('--json on the threaded path: one report per file and the summary', () => {
    const dir = at('many');
    const r = denoiseBin([dir, '-o', at('many-json'), '--model', blurModel, '--json']);
    const reports = r.stdout.trim().split('\n').map((line) => JSON.parse(line) as { type: string; ok?: boolean; denoised?: number; failed?: number });
    expect(reports.filter((x) => x.type === 'file')).toHaveLength(24);
    expect(reports.filter((x) => x.type === 'file' && x.ok)).toHaveLength(22);
    expect(reports.at(-1)).toMatchObject({ type: 'summary', files: 24, denoised: 22, failed: 2, device: 'cpu' });
  });
});

describe('denoise CLI without --output', () => {
  it('writes NAME.denoised.EXT beside each input; a folder run leaves earlier results out and refuses to replace them', async () => {
    const dir = at('beside');
    mkdirSync(dir);
    await writeImage(path.join(dir, 'a.png'), sample(24 * 16), 24, 16, 1);
    await writeImage(path.join(dir, 'b.webp'), sample(24 * 16 * 3, 2), 24, 16, 3);
    const one = await denoise(path.join(dir, 'a.png'), '--model', blurModel);
    expect(one.code, one.stderr).toBe(0);
    const a = await pixels(path.join(dir, 'a.denoised.png'));
    const source = await pixels(path.join(dir, 'a.png'));
    const first = Array.from({ length: 24 * 16 }, (_, n) => a.data[n * a.channels]!);
    expect(maxDifference(first, expectedBlur(source.data, 24, 16, source.channels, 0, 255))).toBeLessThanOrEqual(1);
    const folder = await denoise(dir, '--model', blurModel);
    // a.denoised.png already exists (refused without --force); b is new; a.denoised.png is not taken as an input.
    expect(folder.code).toBe(1);
    expect(folder.stderr).toContain(`output ${path.join(dir, 'a.denoised.png')} already exists (use --force to replace it)`);
    expect(folder.stderr).toContain('denoised 1 of 2 files');
    expect(readdirSync(dir).sort()).toEqual(['a.denoised.png', 'a.png', 'b.denoised.webp', 'b.webp']);
  });
});
