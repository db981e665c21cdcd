// `tools bench`: one entry to the training, Node and web benchmarks; a markdown report headed by the machine it ran on.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { cpus, freemem, totalmem, platform, release } from 'node:os';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { CommandModule } from 'yargs';
import { check } from 'onnx-denoiser-common';
import { writeFileAtomic, gpuDeviceNodes } from 'onnx-denoiser-node/internal';
import { toolsScript } from '../io/package-files.js';
import { timestamp } from '../io/timestamp.js';
import { RUNS_DIR } from '../train/run-folder.js';

/** The benchmarks: name -> compiled script (relative to the tools package's dist/) and the arguments of a quick run. */
const BENCHES = Object.freeze({
  train: { script: 'bench/train-bench.js', quick: ['--steps', '100', '--repeats', '2'] },
  node: { script: 'bench/node-bench.js', quick: ['--small', '200', '--size', '2048', '--big-mp', '0', '--rounds', '2'] },
  web: { script: 'web/bench.js', quick: ['--size', '512', '--webgpu-size', '256', '--seconds', '1'] },
} as const);

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

function runBench(name: BenchName, quick: boolean): Promise<{ code: number | null; output: string; seconds: number }> {
  const script = toolsScript(BENCHES[name].script);
  check(existsSync(script), 'a built project (npm run build)', `the ${name} bench`, script);
  return new Promise((resolve) => {
    const started = performance.now();
    const child = spawn(process.execPath, [script, ...(quick ? BENCHES[name].quick : [])], { stdio: ['ignore', 'pipe', 'pipe'] });
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
  describe: 'Run the training, Node and web benchmarks (or those named: train, node, web) and write one markdown report',
  builder: (y) =>
    y
      .positional('only', { type: 'string', array: true, describe: 'benchmarks to run: train, node, web (default: all)' })
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
    for (const name of names) {
      process.stderr.write(`\n== tools bench ${name}\n`);
      const { code, output, seconds } = await runBench(name, args.quick);
      if (code !== 0) failed++;
      // Markdown tables a bench prints stay tables; the rest stays as printed.
      const lines = output.trimEnd().split('\n');
      const table = lines.filter((l) => l.startsWith('|'));
      const rest = lines.filter((l) => !l.startsWith('|'));
      sections.push(`## ${name} (${seconds.toFixed(0)} s${code === 0 ? '' : `, exit code ${code}`})`, '', ...(table.length ? [...table, ''] : []), '```', ...rest, '```', '');
    }
    await writeFileAtomic(out, sections.join('\n'), { overwrite: true });
    process.stderr.write(`\nwrote ${out}\n`);
    if (failed) process.exitCode = 1;
  },
};
