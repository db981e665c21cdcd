// Two builds of the `denoise` CLI in alternating pairs on the same inputs (a folder of small PNGs, or one file), so that a noisy machine's drift falls on both: per-pair figures and medians.
// Run: npx tsx tools/bench/cli-pairs.ts --a OLD/runtime-node/bin/denoise.js [--b runtime-node/bin/denoise.js] [--pairs 5] [--small 1000 | --file photo.jpg] [--model noise-reducer] [--work DIR]
// An older build to compare with, its workspace packages its own (a link to this checkout's node_modules would load this checkout's onnx-denoiser-common into it, and bundle it too):
//   git worktree add /tmp/base REV && mkdir /tmp/base/node_modules && for d in node_modules/* node_modules/.bin; do case $d in */onnx-denoiser-*) ;; *) ln -s "$PWD/$d" "/tmp/base/$d";; esac; done &&
//   for p in common:runtime-common node:runtime-node web:runtime-web tools:tools; do ln -s "/tmp/base/${p#*:}" "/tmp/base/node_modules/onnx-denoiser-${p%%:*}"; done && (cd /tmp/base && npm run build)
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { defaultModelPath } from 'onnx-denoiser-node/internal';
import { denoiseBin } from '../io/package-files.js';
import { binEnvironment, pattern, writePng } from './bench-files.js';

function option(name: string, fallback?: string): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  return at < 0 ? fallback : (process.argv[at + 1] ?? fallback);
}

const builds = { a: option('a'), b: option('b', denoiseBin())! };
if (!builds.a) throw new Error('Expected the bin of the build to compare with for --a (e.g. /tmp/base/runtime-node/bin/denoise.js) but received nothing');
const PAIRS = Number(option('pairs', '5'));
const SMALL = Number(option('small', '1000'));
const FILE = option('file');
const model = option('model', 'noise-reducer')!;
const modelFile = model.endsWith('.onnx') ? path.resolve(model) : defaultModelPath(model);
const work = mkdtempSync(path.join(option('work', tmpdir())!, 'cli-pairs-'));
const log = (text: string) => process.stdout.write(`${text}\n`);

/** Wall seconds of one run of a build's bin (its shebang's environment set, output discarded). */
function run(bin: string, args: string[]): number {
  const start = performance.now();
  const r = spawnSync(process.execPath, [bin, ...args, '--model', modelFile, '--force'], { stdio: ['ignore', 'ignore', 'pipe'], env: binEnvironment(bin) });
  if (r.status !== 0) throw new Error(`${bin} failed: ${r.stderr.toString().slice(-400)}`);
  return (performance.now() - start) / 1000;
}

const median = (values: number[]) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)]!;
const list = (values: number[], digits = 2) => values.map((v) => v.toFixed(digits)).join(' ');

async function main(): Promise<void> {
  const times: Record<'a' | 'b', { main: number[]; one: number[] }> = { a: { main: [], one: [] }, b: { main: [], one: [] } };
  let input = FILE;
  let first: string | undefined;
  if (!input) {
    input = path.join(work, 'small');
    mkdirSync(input);
    for (let i = 0; i < SMALL; i++) await writePng(path.join(input, `img-${String(i).padStart(4, '0')}.png`), pattern(28, 28, (i % 256) + 1), 28, 28);
    first = path.join(input, 'img-0000.png');
  }
  log(`cli-pairs: ${PAIRS} pairs, ${FILE ? `the file ${FILE}` : `${SMALL} PNGs of 28x28 into a new folder each run, and one of them`}; model ${modelFile}; work folder ${work}`);
  log(`  a: ${builds.a}\n  b: ${builds.b}`);
  for (let pair = 0; pair < PAIRS; pair++) {
    // Alternate which build goes first, so that a drift within a pair falls on both in turn.
    for (const side of pair % 2 ? (['b', 'a'] as const) : (['a', 'b'] as const)) {
      const out = path.join(work, `out-${side}`);
      rmSync(out, { recursive: true, force: true });
      times[side].main.push(run(builds[side]!, [input, '-o', FILE ? `${out}${path.extname(FILE)}` : out]));
      if (first) times[side].one.push(run(builds[side]!, [first, '-o', path.join(work, `one-${side}.png`)]));
    }
  }
  for (const side of ['a', 'b'] as const) {
    const { main: runs, one } = times[side];
    if (first) {
      const rates = runs.map((t, i) => (SMALL - 1) / (t - one[i]!));
      // Each pair's own rate (its folder run less its one-file run, taken minutes apart at most), then their median.
      log(`${side}: folder ${list(runs)} s | one file ${list(one)} s | files/s after start-up per pair ${list(rates, 0)} | median ${median(rates).toFixed(0)}`);
    } else {
      log(`${side}: ${list(runs)} s | median ${median(runs).toFixed(2)} s`);
    }
  }
  rmSync(work, { recursive: true, force: true });
}

await main();
