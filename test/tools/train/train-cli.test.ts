// `tools train` end to end through the built bin: bad input leaves nothing, short runs learn, resume (after a stop, Ctrl-C or a kill) equals uninterrupted.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import sharp from 'sharp';
import { beforeAll, describe, expect, it } from 'vitest';
import { parseSafetensors } from '../../../tools/model/safetensors.js';
import type { EpochRecord } from '../../../tools/train/trainer.js';
import { SIGNAL_ECHO_MS } from '../../../tools/commands/train.js';
import { skipWithReason } from '../../skip-with-reason.js';
import { tempDirs } from '../../temp-dir.js';

const makeTempDir = tempDirs();
const work = makeTempDir('train-cli-');

function train(...args: string[]) {
  const r = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'train', '--quiet', ...args], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Whether this machine lets a child mount a read-only tmpfs in its own mount namespace (root with unshare). */
function canMountReadOnly(): boolean {
  const probe = mkdtempSync(join(work, 'ro-probe-'));
  return spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0"', probe], { stdio: 'ignore' }).status === 0;
}

/** `tools train` with `folder` made a read-only file system in the child's own mount namespace (needs canMountReadOnly). */
function trainOnReadOnly(folder: string, ...args: string[]) {
  const command = [process.execPath, join(process.cwd(), 'tools/bin/tools.js'), 'train', '--quiet', ...args];
  const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount -t tmpfs -o ro tmpfs "$0" && exec "$@"', folder, ...command], { cwd: work, encoding: 'utf8', env: { ...process.env, FORCE_COLOR: '0' } });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const spec = join(process.cwd(), 'models/noise-reducer.json');
const quick = ['--spec', spec, '--dataset', 'mnist', '--limit', '256', '--batch-size', '32', '--seed', '3'];
const history = (dir: string) => JSON.parse(readFileSync(join(dir, 'history.json'), 'utf8')) as EpochRecord[];
const safetensors = (file: string) => parseSafetensors(readFileSync(file), file);

/** Every tensor of two safetensors files is bitwise equal (same names, shapes and float32 bits). */
function expectSameTensors(a: string, b: string) {
  const x = safetensors(a).tensors;
  const y = safetensors(b).tensors;
  expect([...y.keys()]).toEqual([...x.keys()]);
  for (const [name, t] of x) {
    const u = y.get(name)!;
    expect(u.shape, name).toEqual(t.shape);
    const differing = t.data.reduce((n, v, i) => n + (Object.is(v, u.data[i]) ? 0 : 1), 0);
    expect(differing, `${name}: values that differ from ${a}`).toBe(0);
  }
}

/** A training run in the background, as a user starts it (no --quiet: plain progress lines, as off a terminal). */
function startTrain(...args: string[]) {
  const child = spawn(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'train', ...args], { cwd: work, env: { ...process.env, FORCE_COLOR: '0' } });
  let stderr = '';
  const waiters: { pattern: RegExp; resolve: () => void }[] = [];
  child.stderr.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    for (const w of waiters.splice(0)) (w.pattern.test(stderr) ? w.resolve : () => waiters.push(w))();
  });
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    child,
    exit,
    get stderr() {
      return stderr;
    },
    /** Resolves once stderr matches (rejects if the process ends first). */
    waitFor: (pattern: RegExp) =>
      new Promise<void>((resolve, reject) => {
        if (pattern.test(stderr)) return resolve();
        waiters.push({ pattern, resolve });
        void exit.then((code) => reject(new Error(`train exited (${code}) before ${pattern}: ${stderr}`)));
      }),
  };
}

describe('tools train: bad calls leave no run folder', () => {
  it.each([
    [['--dataset', 'cifar'], /Expected one of "fashion-mnist", "mnist", "idx:<dir>" or "folder:<dir>" for --dataset but received "cifar"|for --dataset but received "cifar"/],
    [['--backend', 'tpu'], /Expected one of "auto", "cuda", "tensorflow", "wasm", "webgpu", "cpu" for --backend but received "tpu"/],
    [['--epochs', '-1'], /Expected an integer >= 1 and <= 100000 for --epochs but received -1/],
    [['--batch-size', '0'], /for --batch-size but received 0/],
    [['--lr', '0'], /Expected a finite number > 0 and <= 10 for --lr but received 0/],
    [['--noise', 'speckle'], /for --noise but received "speckle"/],
    [['--noise', 'salt-pepper', '--noise-factor', '1.5'], /for --noise-factor \(salt-pepper noise\) but received 1\.5/],
    [['--spec', 'missing.json'], /Cannot read spec file missing\.json/],
    [['--backend', 'cuda'], /Expected a TF\.js backend that loads for --backend but received "cuda": @tensorflow\/tfjs-node-gpu/],
    [['--out', ''], /Expected a folder path for --out but received ""/],
    [['--loss', 'l1'], /Expected one of "mse", "psnr" for --loss but received "l1"/],
    [['--noise-power', '2'], /Expected a range LOW:HIGH \(needed by --noise-power\) for --noise-factor but received "0\.4"/],
    [['--noise-factor', '0:0.2', '--noise-power', '0'], /Expected a finite number > 0 and <= 100 for --noise-power but received 0/],
    [['--grey-share', '0.5'], /Expected a folder:<dir> dataset with --patches, --patch-size or --grey-share for --dataset but received "mnist"/],
    [['--grey-share', '2'], /for --grey-share but received 2/],
    [['--init-identity', 'extra'], /Expected a run to grow, given with --init-weights for --init-identity but received "extra"/],
    [['--init-weights', spec.replace('.json', '-training'), '--init-identity', 'encoder_conv2'], /Expected a layer with strides 1 for --init-identity \(layer encoder_conv2\) but received strides 2x2/],
    [['--init-widen'], /Expected a run to widen, given with --init-weights for --init-widen but received true/],
    [['--init-weights', spec.replace('.json', '-training'), '--init-widen'], /Expected a spec with wider layers than the weights of .*noise-reducer-training for --init-widen but received .*noise-reducer\.json, whose layers all match them/],
    [['--map-jitter', '2'], /Expected a finite number >= 0 and <= 1 for --map-jitter but received 2/],
    [['--threads', '0'], /Expected an integer >= 1 and <= 8 for --threads but received 0/],
    [['--threads', '1.5'], /Expected an integer >= 1 and <= 8 for --threads but received 1\.5/],
  ])('%j', (args, pattern) => {
    const out = join(work, `bad-${Math.random().toString(36).slice(2)}`);
    const r = train(...quick, '--out', out, ...args);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(pattern);
    expect(existsSync(out)).toBe(false);
  });

  it('a spec with a noise map: refuses noise other than Gaussian, trains from blind weights with the map channel at zero, and exports two inputs', async () => {
    const mapped = join(work, 'mapped.json');
    const json = JSON.parse(readFileSync(spec, 'utf8'));
    json.input.noiseMap = 'noise_map';
    json.layers = [{ name: 'with_map', kind: 'concat', inputs: ['image', 'noise_map'] }, { ...json.layers[0], inputs: ['with_map'] }, ...json.layers.slice(1)];
    writeFileSync(mapped, JSON.stringify(json));
    const bad = train(...quick, '--spec', mapped, '--noise', 'salt-pepper', '--noise-factor', '0.1', '--out', join(work, 'mapped-bad'));
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/Expected gaussian noise for a spec with a noise map \(its level is the noise's standard deviation\) for --noise but received "salt-pepper"/);
    expect(existsSync(join(work, 'mapped-bad'))).toBe(false);
    const run = join(work, 'mapped-run');
    const r = train(...quick, '--spec', mapped, '--noise-factor', '0:0.5', '--map-jitter', '0.1', '--epochs', '1', '--init-weights', spec.replace('.json', '-training'), '--out', run);
    expect(r.code, r.stderr).toBe(0);
    const kernel = safetensors(join(run, 'weights.safetensors')).tensors.get('encoder_conv1.kernel')!;
    expect(kernel.shape).toEqual([3, 3, 2, 16]);
    const exported = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'export-onnx', '--run', run, '--out', join(run, 'm.onnx')], { cwd: work, encoding: 'utf8' });
    expect(exported.status, exported.stderr).toBe(0);
    const { readModelMetadata } = await import('../../../runtime-common/onnx-model.js');
    const { metadata, model } = readModelMetadata(readFileSync(join(run, 'm.onnx')), 'm.onnx');
    expect(metadata.noiseMap).toBe('noise_map');
    expect(model.inputs.map((i) => i.name)).toEqual(['image', 'noise_map']);
    // A resumed run still says what it started from (the config is rewritten on every resume).
    const resumed = train('--resume', run, '--epochs', '2');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(JSON.parse(readFileSync(join(run, 'config.json'), 'utf8')).initialWeights).toBe(spec.replace('.json', '-training'));
    expect(readFileSync(join(run, 'card.md'), 'utf8')).toContain(`started from the weights of ${spec.replace('.json', '-training')}`);
  });

  it('an int8 spec trained from float weights: ranges start at the first batch\'s maxima, the card says so, and the export is int8', () => {
    const int8 = join(work, 'int8.json');
    writeFileSync(int8, JSON.stringify({ ...JSON.parse(readFileSync(spec, 'utf8')), quantization: 'int8' }));
    const run = join(work, 'int8-run');
    const r = train(...quick, '--spec', int8, '--epochs', '1', '--init-weights', spec.replace('.json', '-training'), '--out', run);
    expect(r.code, r.stderr).toBe(0);
    const { tensors } = safetensors(join(run, 'weights.safetensors'));
    // The tutorial network reads the image and three relu outputs with convolutions.
    const ranges = [...tensors.keys()].filter((n) => n.endsWith('.range'));
    expect(ranges).toEqual(['image.range', 'encoder_conv1.range', 'encoder_conv2.range', 'decoder_deconv1.range', 'decoder_deconv2.range']);
    for (const name of ranges) expect(tensors.get(name)!.data[0], name).toBeGreaterThan(0);
    expect(readFileSync(join(run, 'card.md'), 'utf8')).toContain('- quantization: int8, trained through the rounding');
    const exported = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'export-onnx', '--run', run, '--out', join(run, 'm.onnx')], { cwd: work, encoding: 'utf8' });
    expect(exported.status, exported.stderr).toBe(0);
    expect(exported.stdout).toMatch(/^wrote .*m\.onnx \([\d,]+ bytes, int8 \(QuantizeLinear \/ DequantizeLinear pairs; float32 input and output\), opset 17, IR 8\)/);
  });

  it('an invalid spec names the layer and key', () => {
    const bad = join(work, 'bad-spec.json');
    const json = JSON.parse(readFileSync(spec, 'utf8'));
    json.layers[2].strides = 0;
    writeFileSync(bad, JSON.stringify(json));
    const r = train(...quick, '--spec', bad, '--out', join(work, 'bad-spec-run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Expected an integer >= 1 for layers\[2\] \("decoder_deconv1"\)\.strides but received 0/);
    expect(existsSync(join(work, 'bad-spec-run'))).toBe(false);
  });

  it('a spec whose channels differ from the data (RGB photos, a grey network)', async () => {
    const photos = join(work, 'photos');
    mkdirSync(photos);
    for (const name of ['a.png', 'b.png']) await sharp(new Uint8Array(64 * 64 * 3).map((_, i) => i % 251), { raw: { width: 64, height: 64, channels: 3 } }).png().toFile(join(photos, name));
    const r = train('--spec', spec, '--dataset', `folder:${photos}`, '--limit', '8', '--out', join(work, 'rgb-run'));
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`Expected a spec whose input has the data's 3 channel(s) (folder:${photos}) for --spec but received "noise-reducer" with 1`);
    expect(existsSync(join(work, 'rgb-run'))).toBe(false);
  });

  it('an unwritable output folder (as root: a read-only file system, since root ignores permission bits)', (ctx) => {
    const locked = join(work, 'locked');
    mkdirSync(locked);
    let r: ReturnType<typeof train>;
    if (process.getuid?.() === 0) {
      skipWithReason(ctx, !canMountReadOnly(), 'running as root, where permission bits do not stop a write, and unshare cannot mount a read-only file system here');
      r = trainOnReadOnly(locked, ...quick, '--out', join(locked, 'run'));
    } else {
      chmodSync(locked, 0o500);
      r = train(...quick, '--out', join(locked, 'run'));
    }
    expect(r.code, r.stderr).toBe(1);
    expect(r.stderr).toContain(`Expected a writable location for --out but received ${join(locked, 'run')} (${locked} is not writable)`);
    expect(existsSync(join(locked, 'run'))).toBe(false);
  });
});

describe('tools train', () => {
  const full = join(work, 'full');
  let result: ReturnType<typeof train>;

  beforeAll(() => {
    result = train(...quick, '--epochs', '2', '--out', full, '--backend', 'wasm');
  });

  it('learns: the validation loss falls and beats the noisy input', () => {
    expect(result.code, result.stderr).toBe(0);
    const h = history(full);
    expect(h.map((r) => r.epoch)).toEqual([1, 2]);
    expect(h[1]!.trainLoss).toBeLessThan(h[0]!.trainLoss);
    expect(h[1]!.valLoss).toBeLessThan(h[0]!.valLoss);
    expect(result.stderr).toMatch(/backend: wasm/);
    expect(result.stderr).toMatch(/epoch 2\/2: train loss/);
  });

  it('writes artifacts that load back', async () => {
    expect(readdirSync(full).sort()).toEqual(['card.md', 'checkpoint.safetensors', 'config.json', 'history.json', 'loss.png', 'samples.png', 'spec.json', 'weights.safetensors']);
    const { tensors } = parseSafetensors(readFileSync(join(full, 'weights.safetensors')), 'weights');
    expect(tensors.get('encoder_conv1.kernel')!.shape).toEqual([3, 3, 1, 16]);
    expect((await sharp(join(full, 'samples.png')).metadata()).format).toBe('png');
    expect((await sharp(join(full, 'loss.png')).metadata()).format).toBe('png');
    const config = JSON.parse(readFileSync(join(full, 'config.json'), 'utf8'));
    expect(config.settings).toMatchObject({ epochs: 2, batchSize: 32, learningRate: 0.001, seed: 3, noise: { kind: 'gaussian', factor: 0.4 } });
    expect(config.data).toMatchObject({ name: 'mnist', train: 256, test: 256 });
    expect(readFileSync(join(work, 'runs/latest'), 'utf8').trim()).toBe('full');
  });

  it('resumes a stopped run to the same result as the uninterrupted one', () => {
    const part = join(work, 'part');
    expect(train(...quick, '--epochs', '1', '--out', part, '--backend', 'wasm').code).toBe(0);
    const resumed = train('--resume', part, '--epochs', '2', '--backend', 'wasm');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/resuming .*part after epoch 1 of 2/);
    const a = history(full);
    const b = history(part);
    expect(b).toHaveLength(2);
    for (const key of ['trainLoss', 'valLoss', 'valPsnr'] as const) expect(b[1]![key]).toBe(a[1]![key]);
    expectSameTensors(join(full, 'weights.safetensors'), join(part, 'weights.safetensors'));
    expectSameTensors(join(full, 'checkpoint.safetensors'), join(part, 'checkpoint.safetensors'));
  });

  it('resumes to the same weights bit for bit over many steps: Adam\'s beta powers are restored, not recomputed', () => {
    // 32 steps an epoch, 64 after the resume: recomputed beta powers (pow instead of the running float32
    // product) changed the last bit of about 2,000 of the 3,217 weights here.
    const settings = [...quick, '--batch-size', '8', '--backend', 'wasm'];
    const straight = join(work, 'beta-straight');
    const resumed = join(work, 'beta-resumed');
    expect(train(...settings, '--epochs', '3', '--out', straight).code).toBe(0);
    expect(train(...settings, '--epochs', '1', '--out', resumed).code).toBe(0);
    const r = train('--resume', resumed, '--epochs', '3', '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(safetensors(join(resumed, 'checkpoint.safetensors')).metadata.betaPowers!)).toEqual(JSON.parse(safetensors(join(straight, 'checkpoint.safetensors')).metadata.betaPowers!));
    expectSameTensors(join(straight, 'weights.safetensors'), join(resumed, 'weights.safetensors'));
  });

  it('matches the stock cpu backend within tolerance', () => {
    const cpu = join(work, 'cpu');
    const r = train(...quick, '--epochs', '1', '--out', cpu, '--backend', 'cpu', '--limit', '64');
    const wasm = join(work, 'wasm');
    const w = train(...quick, '--epochs', '1', '--out', wasm, '--backend', 'wasm', '--limit', '64');
    expect(r.code, r.stderr).toBe(0);
    expect(w.code, w.stderr).toBe(0);
    const [c] = history(cpu);
    const [x] = history(wasm);
    expect(Math.abs(c!.trainLoss - x!.trainLoss) / c!.trainLoss).toBeLessThan(1e-3);
    expect(Math.abs(c!.valLoss - x!.valLoss) / c!.valLoss).toBeLessThan(1e-3);
  });

  it('trains to the same weights on one thread and on two (XNNPACK splits outputs between threads, not sums), and a threaded run exits', () => {
    const runs = ['1', '2'].map((threads) => {
      const out = join(work, `threads-${threads}`);
      const r = train(...quick, '--epochs', '1', '--out', out, '--backend', 'wasm', '--threads', threads);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`backend: wasm (XNNPACK, SIMD, ${threads} thread${threads === '1' ? '' : 's'})`);
      return readFileSync(join(out, 'weights.safetensors'));
    });
    expect(runs[1]!.equals(runs[0]!)).toBe(true);
  });
});

describe('tools train: stopped, killed and torn runs', () => {
  // The 2-epoch run of the suite above: the uninterrupted reference.
  const full = join(work, 'full');
  // 256 batches of 8: long enough to be stopped inside an epoch.
  const long = ['--spec', spec, '--dataset', 'mnist', '--limit', '2048', '--batch-size', '8', '--seed', '5', '--backend', 'wasm'];

  it('Ctrl-C stops after the current batch, saves where it stood and exits 130; --resume ends bit-identical to an uninterrupted run', async () => {
    const reference = join(work, 'sigint-reference');
    const cut = join(work, 'sigint-cut');
    const straight = train(...long, '--epochs', '2', '--out', reference);
    expect(straight.code, straight.stderr).toBe(0);
    const run = startTrain(...long, '--epochs', '50', '--out', cut);
    // A tenth of epoch 1 done: the signal lands inside the epoch.
    await run.waitFor(/epoch 1\/50 \d+\/256 \(/);
    const signalled = performance.now();
    run.child.kill('SIGINT');
    const code = await run.exit;
    const seconds = (performance.now() - signalled) / 1000;
    expect(code, run.stderr).toBe(130);
    expect(seconds).toBeLessThan(10);
    const stop = /stopped in epoch 1 after batch (\d+) of 256 \(checkpoint saved\); continue with: tools train --resume .*sigint-cut/.exec(run.stderr);
    expect(stop, run.stderr).not.toBeNull();
    const batch = Number(stop![1]);
    expect(batch).toBeGreaterThan(0);
    expect(batch).toBeLessThan(256);
    const { metadata } = safetensors(join(cut, 'checkpoint.safetensors'));
    expect(metadata.epochsDone).toBe('0');
    expect(JSON.parse(metadata.partial!)).toMatchObject({ batchesDone: batch, seen: batch * 8 });
    expect(readdirSync(cut).filter((n) => n.endsWith('.tmp'))).toEqual([]);

    const resumed = train('--resume', cut, '--epochs', '2');
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(new RegExp(`resuming .*sigint-cut in epoch 1 of 2, after batch ${batch}`));
    const [a, b] = [history(reference), history(cut)];
    expect(b.map((r) => r.epoch)).toEqual([1, 2]);
    for (let e = 0; e < 2; e++) for (const key of ['trainLoss', 'valLoss', 'valPsnr'] as const) expect(b[e]![key], `epoch ${e + 1} ${key}`).toBe(a[e]![key]);
    expectSameTensors(join(reference, 'weights.safetensors'), join(cut, 'weights.safetensors'));
  }, 300_000);

  it('a second Ctrl-C exits at once with 130 and leaves no temp file', async () => {
    const dir = join(work, 'sigint-twice');
    // 1024 batches: the old loop only saw signals at the epoch's end, many seconds later.
    const run = startTrain(...long, '--limit', '8192', '--epochs', '50', '--out', dir);
    await run.waitFor(/epoch 1\/50 \d+\/1024 \(/);
    const signalled = performance.now();
    run.child.kill('SIGINT');
    // Later than SIGNAL_ECHO_MS: a second keypress, not the first one relayed by a wrapper.
    await new Promise((resolve) => setTimeout(resolve, SIGNAL_ECHO_MS + 200));
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code, run.stderr).toBe(130);
    expect((performance.now() - signalled) / 1000).toBeLessThan(8);
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  }, 300_000);

  it('one Ctrl-C that arrives twice at once (from the terminal and relayed by npx or tsx) still stops gracefully', async () => {
    const dir = join(work, 'sigint-echo');
    const run = startTrain(...long, '--epochs', '50', '--out', dir);
    await run.waitFor(/epoch 1\/50 \d+\/256 \(/);
    run.child.kill('SIGINT');
    run.child.kill('SIGINT');
    const code = await run.exit;
    expect(code, run.stderr).toBe(130);
    expect(run.stderr).toMatch(/stopped in epoch 1 after batch \d+ of 256 \(checkpoint saved\)/);
    expect(JSON.parse(safetensors(join(dir, 'checkpoint.safetensors')).metadata.partial!).batchesDone).toBeGreaterThan(0);
  }, 300_000);

  it('a run killed before its first checkpoint resumes from the start (and its stale temp files go)', () => {
    // What kill -9 during epoch 1 leaves: spec.json, config.json and maybe a temp file of a write in flight.
    const killed = join(work, 'killed-early');
    mkdirSync(killed);
    for (const name of ['spec.json', 'config.json']) copyFileSync(join(full, name), join(killed, name));
    writeFileSync(join(killed, '.checkpoint.safetensors.0123abcd.tmp'), 'partial');
    writeFileSync(join(killed, '.samples.png.89abcdef.tmp'), 'partial');
    const r = train('--resume', killed, '--backend', 'wasm');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/removed 2 temp files a killed run left in .*killed-early/);
    expect(r.stderr).toMatch(/no checkpoint yet .* starts at epoch 1 of 2/);
    expect(readdirSync(killed).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(history(killed).map((e) => e.valLoss)).toEqual(history(full).map((e) => e.valLoss));
    expectSameTensors(join(full, 'weights.safetensors'), join(killed, 'weights.safetensors'));
  });

  it('a run killed after its last checkpoint but before its weights: export refuses, --resume rewrites its files from the checkpoint', () => {
    const torn = join(work, 'torn');
    const one = join(work, 'torn-epoch1');
    expect(train(...quick, '--epochs', '1', '--out', one, '--backend', 'wasm').code).toBe(0);
    // The finished 2-epoch run's checkpoint with every other file still from epoch 1.
    mkdirSync(torn);
    for (const name of readdirSync(full)) copyFileSync(join(full, name), join(torn, name));
    for (const name of ['weights.safetensors', 'history.json', 'card.md', 'loss.png', 'samples.png']) copyFileSync(join(one, name), join(torn, name));
    const exportCwd = makeTempDir('torn-export-');
    const exported = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'export-onnx', '--run', torn], { cwd: exportCwd, encoding: 'utf8' });
    expect(exported.status).toBe(1);
    expect(exported.stderr).toContain(`the weights hold epoch 1, checkpoint.safetensors epoch 2 (it was stopped while writing its files); run "tools train --resume ${torn}" to bring them up to date`);
    expect(existsSync(join(torn, 'model.onnx'))).toBe(false);

    const repaired = train('--resume', torn, '--backend', 'wasm');
    expect(repaired.code, repaired.stderr).toBe(0);
    expect(repaired.stderr).toMatch(/had finished 2 of 2 epochs but was stopped while writing its files: weights, history, card and pictures now hold epoch 2/);
    expectSameTensors(join(full, 'weights.safetensors'), join(torn, 'weights.safetensors'));
    expect(history(torn)).toEqual(history(full));
    expect(readFileSync(join(torn, 'card.md'), 'utf8')).toContain('| 2 |');
    // Now whole: a second --resume says it is finished, and the export goes through.
    expect(train('--resume', torn, '--backend', 'wasm').stderr).toMatch(/which finished 2 of 2 \(raise --epochs to continue\)/);
    const again = spawnSync(process.execPath, [join(process.cwd(), 'tools/bin/tools.js'), 'export-onnx', '--run', torn], { cwd: exportCwd, encoding: 'utf8' });
    expect(again.status, again.stderr).toBe(0);
  });
});
