// Builds the browser runtime with esbuild into dist/web/: the library bundle, the demo page, the shipped model and sample, and onnxruntime-web's wasm files.
// Run: npm run build:web (prints the files and their sizes, raw and gzipped).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { gzipSync } from 'node:zlib';
import * as esbuild from 'esbuild';
import { packageRoot } from '../io/package-files.js';
import { SHIPPED_MODELS } from 'onnx-denoiser-common';

/** The folder holding package.json and models/ (the package root). */
export const projectRoot = packageRoot;

/** Where the build goes: dist/web/ (gitignored). */
export function webOutDir(): string {
  return path.join(projectRoot(), 'dist', 'web');
}

/** Names inside the built folder that pages and tests rely on. */
export const WEB_FILES = Object.freeze({
  library: 'runtime-web.js',
  demoScript: 'demo.js',
  demoPage: 'index.html',
  model: 'models/noise-reducer.onnx',
  sample: 'samples/fashion-grid-clean.png',
  ortFolder: 'ort',
});

/** One built file and its size. */
export interface BuiltFile {
  /** Path inside the build folder. */
  file: string;
  bytes: number;
  /** Gzipped size, when sizes were asked for. */
  gzipBytes?: number;
}

/** Options for {@link buildWeb}. */
export interface WebBuildOptions {
  /** Output folder (default dist/web). */
  outDir?: string;
  /** Compute gzipped sizes too (slow for the 28 MB wasm binary: about a second). */
  sizes?: boolean;
  /** Build the demo page and its sample too (default true; the onnx-denoiser-web package ships without them). */
  demo?: boolean;
  /** File name of the library bundle (default `runtime-web.js`). */
  libraryName?: string;
  /** Write linked source maps (default true). */
  sourcemap?: boolean;
}

/** Where the onnx-denoiser-web package's prebuilt module goes, and its name: what `<script type="module">` loads. */
export const PACKAGE_BROWSER_DIR = path.join('runtime-web', 'dist', 'browser');
export const PACKAGE_LIBRARY_NAME = 'onnx-denoiser-web.js';

// Selects onnxruntime-web's build that loads its wasm glue (.mjs) from `env.wasm.wasmPaths` at run time instead of
// inlining it: the glue then starts its own thread workers from its own URL, never from the library bundle.
const ORT_CONDITIONS = ['onnxruntime-web-use-extern-wasm'];

/** The demo imports the library as a separate file, so the page runs one copy of it (and of onnxruntime-web). */
const libraryAsExternal = (library: string): esbuild.Plugin => ({
  name: 'runtime-web-library-external',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/index\.js$/ }, () => ({ path: `./${library}`, external: true }));
  },
});

/** The onnxruntime-web glue files a bundle loads (their names appear in it), each with its wasm binary. */
function ortFilesUsed(bundle: string): string[] {
  const names = new Set(bundle.match(/ort-wasm-simd-threaded(?:\.[a-z]+)?\.mjs/g) ?? []);
  if (names.size === 0) throw new Error('the library bundle names no onnxruntime-web wasm glue file (ort-wasm-simd-threaded*.mjs): has onnxruntime-web changed?');
  return [...names].flatMap((name) => [name, name.replace(/\.mjs$/, '.wasm')]);
}

/** What a build wrote beside its folder (`<outDir>.inputs.json`): what it read and made, to tell later whether it is current. */
interface WebBuildRecord {
  /** When the build began (ms since the epoch): an input changed after that may be missing from it. */
  startedAt: number;
  options: Required<Pick<WebBuildOptions, 'demo' | 'libraryName' | 'sourcemap'>>;
  esbuild: string;
  /** Project files read, relative to the project root: the bundles' sources, the copied files, this script. */
  inputs: string[];
  /** Installed packages read (their folders, relative): npm gives their files one fixed old time, so their versions tell. */
  packages: Record<string, string>;
  /** Files written, relative to the build folder, with their sizes. */
  outputs: Record<string, number>;
}

const recordFile = (outDir: string) => `${outDir}.inputs.json`;

function resolvedOptions(options: WebBuildOptions): WebBuildRecord['options'] {
  return { demo: options.demo ?? true, libraryName: options.libraryName ?? WEB_FILES.library, sourcemap: options.sourcemap ?? true };
}

/** The project files a build copies besides onnxruntime-web's: [from (relative to the root), to (inside the build)]. */
function copiedFiles(demo: boolean): (readonly [string, string])[] {
  return [
    ...(demo ? [['runtime-web/demo/index.html', WEB_FILES.demoPage] as const] : []),
    ...Object.values(SHIPPED_MODELS).map((m) => [`models/${m.file}`, `models/${m.file}`] as const),
    ...(demo ? [['models/samples/fashion-grid-clean.png', WEB_FILES.sample] as const] : []),
  ];
}

/** The installed package folder (relative to the root) a file lies in, or undefined for a project file. */
function packageFolder(file: string): string | undefined {
  const parts = file.split(/[\\/]/);
  const at = parts.lastIndexOf('node_modules');
  if (at < 0) return undefined;
  return parts.slice(0, at + (parts[at + 1]?.startsWith('@') ? 3 : 2)).join('/');
}

function packageVersion(root: string, folder: string): string | undefined {
  try {
    return (JSON.parse(readFileSync(path.join(root, folder, 'package.json'), 'utf8')) as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/**
 * Why the web build in `options.outDir` (default dist/web) is not current, or undefined when it is: the record its
 * last {@link buildWeb} wrote is missing or was made with other options or another esbuild, a project file it read
 * changed after it began (or is gone), an installed package it read has another version now, a shipped model is
 * new, or a file it wrote is gone or changed. Reads file times and sizes only: a few milliseconds.
 */
export function webBuildStaleness(options: WebBuildOptions = {}): string | undefined {
  const root = projectRoot();
  const outDir = options.outDir ?? webOutDir();
  const file = recordFile(outDir);
  let record: WebBuildRecord;
  try {
    record = JSON.parse(readFileSync(file, 'utf8')) as WebBuildRecord;
  } catch {
    return `${path.relative(root, file)} (the record of the last build) is missing or unreadable`;
  }
  const wanted = resolvedOptions(options);
  if (JSON.stringify(record.options) !== JSON.stringify(wanted)) return `the last build had options ${JSON.stringify(record.options)}, not ${JSON.stringify(wanted)}`;
  if (record.esbuild !== esbuild.version) return `the last build used esbuild ${record.esbuild}, not ${esbuild.version}`;
  const read = new Set(record.inputs);
  const added = copiedFiles(wanted.demo).find(([from]) => !read.has(from));
  if (added) return `${added[0]} is new to the build`;
  for (const input of record.inputs) {
    const full = path.join(root, input);
    if (!existsSync(full)) return `${input} is gone`;
    if (statSync(full).mtimeMs > record.startedAt) return `${input} changed after the last build began`;
  }
  for (const [folder, version] of Object.entries(record.packages)) {
    const now = packageVersion(root, folder);
    if (now !== version) return `${folder} is ${now ?? 'missing'} now, the last build read ${version}`;
  }
  const recorded = statSync(file).mtimeMs;
  for (const [name, bytes] of Object.entries(record.outputs)) {
    const full = path.join(outDir, name);
    if (!existsSync(full)) return `${path.relative(root, full)} is gone`;
    const stat = statSync(full);
    if (stat.size !== bytes || stat.mtimeMs > recorded) return `${path.relative(root, full)} changed after the build`;
  }
  return undefined;
}

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/**
 * Builds the browser runtime into `outDir` (default dist/web): `runtime-web.js` (the library, with onnxruntime-web),
 * `index.html` + `demo.js` (the demo page), every shipped model in `models/`, `samples/fashion-grid-clean.png` and
 * `ort/` (onnxruntime-web's wasm glue and binary). The folder is replaced whole once everything is built.
 * The workspace packages are bundled from their sources (tsconfig.json's "paths"). Beside the folder goes
 * `<outDir>.inputs.json`, what the build read and wrote, for {@link webBuildStaleness}.
 */
export async function buildWeb(options: WebBuildOptions = {}): Promise<BuiltFile[]> {
  const root = projectRoot();
  const outDir = options.outDir ?? webOutDir();
  const resolved = resolvedOptions(options);
  const { demo, libraryName: library } = resolved;
  const temp = `${outDir}.tmp-${process.pid}`;
  const startedAt = Date.now();
  // A build that fails leaves no record, so the next check asks for a build again.
  rmSync(recordFile(outDir), { force: true });
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
  const read = new Set([path.relative(root, fileURLToPath(import.meta.url)), 'tsconfig.json']);
  try {
    const common: esbuild.BuildOptions = {
      bundle: true,
      format: 'esm',
      platform: 'browser',
      target: 'es2022',
      minify: true,
      sourcemap: options.sourcemap === false ? false : 'linked',
      tsconfig: path.join(root, 'tsconfig.json'),
      conditions: ORT_CONDITIONS,
      logLevel: 'error',
      absWorkingDir: root,
      metafile: true,
    };
    const bundles = [await esbuild.build({ ...common, entryPoints: [path.join(root, 'runtime-web', 'index.ts')], outfile: path.join(temp, library) })];
    if (demo) {
      bundles.push(await esbuild.build({ ...common, entryPoints: [path.join(root, 'runtime-web', 'demo', 'demo.ts')], outfile: path.join(temp, WEB_FILES.demoScript), plugins: [libraryAsExternal(library)] }));
    }
    // Inputs in another namespace ("(disabled):fs") are no files.
    for (const bundle of bundles) for (const input of Object.keys(bundle.metafile!.inputs)) if (!/^\(?[a-z-]+\)?:/i.test(input)) read.add(input);

    // The package's exports hide package.json: find dist/ from the file its `require` entry resolves to.
    const ortDist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    mkdirSync(path.join(temp, WEB_FILES.ortFolder));
    for (const name of ortFilesUsed(readFileSync(path.join(temp, library), 'utf8'))) {
      copyFileSync(path.join(ortDist, name), path.join(temp, WEB_FILES.ortFolder, name));
      read.add(path.relative(root, path.join(ortDist, name)));
    }
    for (const [from, to] of copiedFiles(demo)) {
      const source = path.join(root, from);
      if (!existsSync(source)) throw new Error(`${from} is missing: the web build ships it`);
      mkdirSync(path.dirname(path.join(temp, to)), { recursive: true });
      copyFileSync(source, path.join(temp, to));
      read.add(from);
    }
    rmSync(outDir, { recursive: true, force: true });
    renameSync(temp, outDir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  const files = listFiles(outDir)
    .sort()
    .map((file) => {
      const full = path.join(outDir, file);
      return { file, bytes: statSync(full).size, ...(options.sizes ? { gzipBytes: gzipSync(readFileSync(full), { level: 6 }).length } : {}) };
    });
  const packages: Record<string, string> = {};
  const inputs: string[] = [];
  for (const input of [...read].sort()) {
    const folder = packageFolder(input);
    if (folder === undefined) inputs.push(input);
    else packages[folder] ??= packageVersion(root, folder) ?? 'unknown';
  }
  const record: WebBuildRecord = { startedAt, options: resolved, esbuild: esbuild.version, inputs, packages, outputs: Object.fromEntries(files.map((f) => [f.file, f.bytes])) };
  writeFileSync(recordFile(outDir), `${JSON.stringify(record, null, 1)}\n`);
  return files;
}

function kb(bytes: number): string {
  return bytes >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${(bytes / 1024).toFixed(1)} kB`;
}

/** Builds the onnx-denoiser-web package's prebuilt folder (runtime-web/dist/browser): the module, ort/ and models/, no demo. */
export function buildWebPackage(options: Pick<WebBuildOptions, 'sizes'> = {}): Promise<BuiltFile[]> {
  return buildWeb({ ...options, outDir: path.join(projectRoot(), PACKAGE_BROWSER_DIR), demo: false, libraryName: PACKAGE_LIBRARY_NAME, sourcemap: false });
}

async function main(): Promise<void> {
  const start = performance.now();
  const forPackage = process.argv.includes('--package');
  const files = forPackage ? await buildWebPackage({ sizes: true }) : await buildWeb({ sizes: true });
  const out = path.relative(process.cwd(), forPackage ? path.join(projectRoot(), PACKAGE_BROWSER_DIR) : webOutDir()) || '.';
  process.stdout.write(`built ${out}/ in ${((performance.now() - start) / 1000).toFixed(1)} s\n`);
  process.stdout.write(`  ${'file'.padEnd(44)} ${'size'.padStart(10)} ${'gzip'.padStart(10)}\n`);
  for (const f of files) process.stdout.write(`  ${f.file.padEnd(44)} ${kb(f.bytes).padStart(10)} ${kb(f.gzipBytes ?? 0).padStart(10)}\n`);
  const code = files.filter((f) => /\.(m?js)$/.test(f.file) && !f.file.endsWith('.map'));
  const wasm = files.filter((f) => f.file.endsWith('.wasm'));
  const sum = (list: BuiltFile[], key: 'bytes' | 'gzipBytes') => list.reduce((a, f) => a + (f[key] ?? 0), 0);
  process.stdout.write(`  JavaScript ${kb(sum(code, 'bytes'))} (${kb(sum(code, 'gzipBytes'))} gzipped), wasm ${kb(sum(wasm, 'bytes'))} (${kb(sum(wasm, 'gzipBytes'))} gzipped)\n`);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) {
  main().catch((error) => {
    process.stderr.write(`build:web failed: ${(error as Error).message}\n`);
    process.exitCode = 1;
  });
}
