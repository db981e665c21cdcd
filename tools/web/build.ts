// Builds the browser runtime with esbuild into dist/web/: the library bundle, the demo page, the shipped model and sample, and onnxruntime-web's wasm files.
// Run: npm run build:web (prints the files and their sizes, raw and gzipped).
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
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

function listFiles(dir: string, prefix = ''): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? listFiles(path.join(dir, entry.name), `${prefix}${entry.name}/`) : [`${prefix}${entry.name}`],
  );
}

/**
 * Builds the browser runtime into `outDir` (default dist/web): `runtime-web.js` (the library, with onnxruntime-web),
 * `index.html` + `demo.js` (the demo page), every shipped model in `models/`, `samples/fashion-grid-clean.png` and
 * `ort/` (onnxruntime-web's wasm glue and binary). The folder is replaced whole once everything is built.
 * The workspace packages are bundled from their sources (tsconfig.json's "paths").
 */
export async function buildWeb(options: WebBuildOptions = {}): Promise<BuiltFile[]> {
  const root = projectRoot();
  const outDir = options.outDir ?? webOutDir();
  const demo = options.demo ?? true;
  const library = options.libraryName ?? WEB_FILES.library;
  const temp = `${outDir}.tmp-${process.pid}`;
  rmSync(temp, { recursive: true, force: true });
  mkdirSync(temp, { recursive: true });
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
    };
    await esbuild.build({ ...common, entryPoints: [path.join(root, 'runtime-web', 'index.ts')], outfile: path.join(temp, library) });
    if (demo) {
      await esbuild.build({ ...common, entryPoints: [path.join(root, 'runtime-web', 'demo', 'demo.ts')], outfile: path.join(temp, WEB_FILES.demoScript), plugins: [libraryAsExternal(library)] });
      copyFileSync(path.join(root, 'runtime-web', 'demo', 'index.html'), path.join(temp, WEB_FILES.demoPage));
    }

    // The package's exports hide package.json: find dist/ from the file its `require` entry resolves to.
    const ortDist = path.dirname(createRequire(import.meta.url).resolve('onnxruntime-web'));
    mkdirSync(path.join(temp, WEB_FILES.ortFolder));
    for (const name of ortFilesUsed(readFileSync(path.join(temp, library), 'utf8'))) {
      copyFileSync(path.join(ortDist, name), path.join(temp, WEB_FILES.ortFolder, name));
    }
    for (const [from, to] of [
      ...Object.values(SHIPPED_MODELS).map((m) => [`models/${m.file}`, `models/${m.file}`] as const),
      ...(demo ? [['models/samples/fashion-grid-clean.png', WEB_FILES.sample] as const] : []),
    ] as const) {
      const source = path.join(root, from);
      if (!existsSync(source)) throw new Error(`${from} is missing: the web build ships it`);
      mkdirSync(path.dirname(path.join(temp, to)), { recursive: true });
      copyFileSync(source, path.join(temp, to));
    }
    rmSync(outDir, { recursive: true, force: true });
    renameSync(temp, outDir);
  } catch (error) {
    rmSync(temp, { recursive: true, force: true });
    throw error;
  }
  return listFiles(outDir)
    .sort()
    .map((file) => {
      const full = path.join(outDir, file);
      return { file, bytes: statSync(full).size, ...(options.sizes ? { gzipBytes: gzipSync(readFileSync(full), { level: 6 }).length } : {}) };
    });
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
