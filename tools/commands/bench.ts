// `tools bench`: one entry to the training, Node and web benchmarks; a markdown report headed by the machine it ran on.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, freemem, totalmem, platform, release } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { check } from 'onnx-denoiser-common';
import { writeFileAtomic, gpuDeviceNodes } from 'onnx-denoiser-node/internal';
import { packageRoot, toolsScript } from '../io/package-files.js';
import { timestamp } from '../io/timestamp.js';
import { RUNS_DIR } from '../train/run-folder.js';

/**
 * The benchmarks: name -> compiled script (relative to the tools package's dist/), its arguments, and those added for
 * a quick run. `train-photo` is the photo network's training on the wasm path beside its PyTorch twin (issue 16 asks
 * for both networks' ratios): 48x48 patches, 10 steps a repeat, the twin on 960 patches (about 10 s a repeat).
 */
const BENCHES = Object.freeze({
  train: { script: 'bench/train-bench.js', quick: ['--steps', '100', '--repeats', '2'] },
  'train-photo': {
    script: 'bench/train-bench.js',
    args: ['--spec', path.join(packageRoot(), 'models', 'photo-denoiser.json'), '--size', '48', '--steps', '10', '--backends', 'wasm', '--peer-images', '960'],
    quick: ['--steps', '2', '--repeats', '1', '--peer-images', '192'],
  },
  node: { script: 'bench/node-bench.js', quick: ['--small', '200', '--size', '2048', '--big-mp', '0', '--rounds', '2'] },
  web: { script: 'web/bench.js', quick: ['--size', '512', '--webgpu-size', '256', '--seconds', '1'] },
} satisfies Record<string, { script: string; args?: readonly string[]; quick: readonly string[] }>);

type BenchName = keyof typeof BENCHES;

interface BenchArgs {
  only?: string[];
  quick: boolean;
  out?: string;
}

/** What the report says about the machine: enough to compare figures between machines. */
export function machineDescription(): [string, string][] {
  const require = createRequire(import.meta.url);
  const version = (name: string) => {
    try {
      // Some packages (onnxruntime-web) hide package.json behind their exports: walk up from the entry point.
      let dir = path.dirname(require.resolve(name));
      while (dir !== path.dirname(dir)) {
        const file = path.join(dir, 'package.json');
        if (existsSync(file)) {
          const manifest = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version?: string };
          if (manifest.name === name) return manifest.version ?? 'unknown';
        }
        dir = path.dirname(dir);
      }
      return 'unknown';
    } catch {
      return 'not installed';
    }
  };
  const gpuNodes = gpuDeviceNodes();
  const cpu = cpus();
  return [
    ['CPU', `${cpu.length} x ${cpu[0]?.model ?? 'unknown'}`],
    ['memory', `${(totalmem() / 2 ** 30).toFixed(1)} GiB (${(freemem() / 2 ** 30).toFixed(1)} GiB free at start)`],
    ['OS', `${platform()} ${release()}`],
    ['GPU device nodes', gpuNodes.length ? gpuNodes.join(', ') : 'none (WebGPU runs on SwiftShader, a CPU emulation, where it runs at all)'],
    ['Vulkan drivers named', process.env.VK_ICD_FILENAMES ?? 'system default'],
    ['Node', process.version],
    ['onnxruntime-node / -web', `${version('onnxruntime-node')} / ${version('onnxruntime-web')}`],
    ['TF.js', version('@tensorflow/tfjs-core')],
  ];
}

/** One figure a bench prints as a `RESULT {json}` line: what the project does, beside its peer or raw figure, and the target. */
export interface BenchResult {
  measure: string;
  project: number;
  /** The peer's or the raw session's figure, for a ratio. */
  peer?: number;
  peerName?: string;
  /** `ratio`: project / peer >= target; `min`: project >= target; `max`: project <= target. */
  kind: 'ratio' | 'min' | 'max';
  target: number;
  device?: string;
}

/** The `RESULT {...}` lines of a bench's output, parsed; other lines are left alone. */
export function benchResults(output: string): BenchResult[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('RESULT '))
    .map((line) => JSON.parse(line.slice('RESULT '.length)) as BenchResult);
}

const figure = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The one table of every result: each figure beside its peer or raw figure, the ratio, the target and whether it is met. */
export function resultTable(results: readonly BenchResult[]): string[] {
  const lines = ['| measure | device | project | peer or raw | ratio | target | met |', '| --- | --- | ---: | ---: | ---: | ---: | --- |'];
  for (const r of results) {
    const ratio = r.kind === 'ratio' && r.peer ? r.project / r.peer : undefined;
    const met = r.kind === 'ratio' ? (ratio ?? 0) >= r.target : r.kind === 'min' ? r.project >= r.target : r.project <= r.target;
    const target = r.kind === 'ratio' ? `>= ${r.target}x` : `${r.kind === 'min' ? '>=' : '<='} ${r.target}`;
    const peer = r.peer === undefined ? '' : `${figure(r.peer)} (${r.peerName ?? 'peer'})`;
    lines.push(`| ${r.measure} | ${r.device ?? ''} | ${figure(r.project)} | ${peer} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}x`} | ${target} | ${met ? 'yes' : 'no'} |`);
  }
  return lines;
}

function runBench(name: BenchName, quick: boolean): Promise<{ code: number | null; output: string; seconds: number }> {
  const script = toolsScript(BENCHES[name].script);
  check(existsSync(script), 'a built project (npm run build)', `the ${name} bench`, script);
  return new Promise((resolve) => {
    const started = performance.now();
    const bench: { quick: readonly string[]; args?: readonly string[] } = BENCHES[name];
    // A quick run's arguments first: the benches take an option's first occurrence.
    const child = spawn(process.execPath, [script, ...(quick ? bench.quick : []), ...(bench.args ?? [])], { stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk;
      process.stderr.write(chunk);
    });
    child.stderr.on('data', (chunk: Buffer) => process.stderr.write(chunk));
    child.on('close', (code) => resolve({ code, output, seconds: (performance.now() - started) / 1000 }));
  });
}

/** The `bench` command. */
export const benchCommand: CommandModule<object, BenchArgs> = {
  command: 'bench [only..]',
  describe: 'Run the training (tutorial and photo networks), Node and web benchmarks (or those named: train, train-photo, node, web) and write one markdown report',
  builder: (y) =>
    y
      .positional('only', { type: 'string', array: true, describe: 'benchmarks to run: train, train-photo, node, web (default: all)' })
      .option('quick', { type: 'boolean', default: false, describe: 'smaller inputs and fewer rounds (a couple of minutes in all)' })
      .option('out', { type: 'string', describe: 'report file (default runs/bench-<time>.md)' }) as never,
  handler: async (args) => {
    const names = (args.only?.length ? args.only : Object.keys(BENCHES)) as BenchName[];
    for (const name of names) check(name in BENCHES, `one of ${Object.keys(BENCHES).map((n) => `"${n}"`).join(', ')}`, 'bench', name);
    const out = args.out ?? path.join(RUNS_DIR, `bench-${timestamp()}.md`);
    const sections: string[] = [
      `# onnx-denoiser benchmarks, ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC${args.quick ? ' (quick)' : ''}`,
      '',
      '| machine | |',
      '| --- | --- |',
      ...machineDescription().map(([k, v]) => `| ${k} | ${v} |`),
      '',
    ];
    let failed = 0;
    const results: BenchResult[] = [];
    const details: string[] = [];
    for (const name of names) {
      process.stderr.write(`\n== tools bench ${name}\n`);
      const { code, output, seconds } = await runBench(name, args.quick);
      if (code !== 0) failed++;
      results.push(...benchResults(output));
      // Markdown tables a bench prints stay tables; the rest stays as printed.
      const lines = output.trimEnd().split('\n').filter((l) => !l.startsWith('RESULT '));
      const table = lines.filter((l) => l.startsWith('|'));
      const rest = lines.filter((l) => !l.startsWith('|'));
      details.push(`## ${name} (${seconds.toFixed(0)} s${code === 0 ? '' : `, exit code ${code}`})`, '', ...(table.length ? [...table, ''] : []), '```', ...rest, '```', '');
    }
    // The targets first, in one table; each bench's own tables and log after.
    if (results.length) sections.push('## Results against the targets', '', ...resultTable(results), '');
    sections.push(...details);
    if (results.length) process.stdout.write(`${resultTable(results).join('\n')}\n`);
    await writeFileAtomic(out, sections.join('\n'), { overwrite: true });
    process.stderr.write(`\nwrote ${out}\n`);
    if (failed) process.exitCode = 1;
  },
};
