// Vitest global setup: compiles every package (tsc -b) unless its build is already up to date, so CLI tests run exactly what `npx tools` and `npx denoise` run.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** What the up-to-date check reads of a tsconfig.json: the projects it references. */
interface ProjectConfig {
  references?: { path: string }[];
}

/** What the up-to-date check reads of a project's tsconfig.tsbuildinfo (TypeScript 5.x, incremental). */
interface BuildInfo {
  version?: string;
  fileNames?: string[];
  root?: (number | [number, number])[];
  latestChangedDtsFile?: string;
  errors?: boolean;
  checkPending?: boolean;
  changeFileSet?: unknown[];
  semanticDiagnosticsPerFile?: unknown[];
  emitDiagnosticsPerFile?: unknown[];
  affectedFilesPendingEmit?: unknown[];
  pendingEmit?: unknown;
}

/** tsconfig files are JSON with comments and trailing commas. */
function readJsonc<T>(file: string): T {
  const text = readFileSync(file, 'utf8')
    .replace(/("(?:\\.|[^"\\])*")|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (_match, string: string | undefined) => string ?? '')
    .replace(/,(\s*[}\]])/g, '$1');
  return JSON.parse(text) as T;
}

const mtime = (file: string): number | undefined => (existsSync(file) ? statSync(file).mtimeMs : undefined);

/** Every folder of a project's sources: adding or deleting a source file changes its folder's time. */
function sourceFolders(dir: string): string[] {
  return [
    dir,
    ...readdirSync(dir, { withFileTypes: true })
      .filter((e) => e.isDirectory() && e.name !== 'dist' && e.name !== 'node_modules' && !e.name.startsWith('.'))
      .flatMap((e) => sourceFolders(path.join(dir, e.name))),
  ];
}

/**
 * Why `tsc -b <buildConfig>` in `root` would rebuild something, or undefined when every project is up to date.
 * Follows tsc -b's own rule (a project is current when its tsconfig.tsbuildinfo is newer than its sources, its
 * configs and its upstream projects' latest declaration change, and records no errors or pending emit) in a few
 * milliseconds instead of tsc's second or more of start-up. It errs only towards a rebuild: anything it cannot
 * read (a missing or foreign build info, an outDir other than dist/) says stale, and tsc -b decides.
 */
export function tscBuildStaleness(root: string, buildConfig = 'tsconfig.build.json'): string | undefined {
  const version = (JSON.parse(readFileSync(path.join(root, 'node_modules', 'typescript', 'package.json'), 'utf8')) as { version: string }).version;
  const relative = (file: string) => path.relative(root, file);
  const latestDts = new Map<string, number>();
  const projects = (readJsonc<ProjectConfig>(path.join(root, buildConfig)).references ?? []).map((r) => path.resolve(root, r.path));
  for (const dir of projects) {
    const config = path.join(dir, 'tsconfig.json');
    const infoFile = path.join(dir, 'dist', 'tsconfig.tsbuildinfo');
    const built = mtime(infoFile);
    if (built === undefined) return `${relative(infoFile)} is missing`;
    const info = JSON.parse(readFileSync(infoFile, 'utf8')) as BuildInfo;
    if (info.version !== version) return `${relative(infoFile)} was written by TypeScript ${info.version ?? 'unknown'}, not ${version}`;
    if (info.errors || info.checkPending || info.changeFileSet?.length || info.semanticDiagnosticsPerFile?.length || info.emitDiagnosticsPerFile?.length) return `${relative(infoFile)} records errors`;
    if (info.affectedFilesPendingEmit?.length || info.pendingEmit !== undefined) return `${relative(infoFile)} records files still to emit`;
    if (!info.fileNames || !info.root) return `${relative(infoFile)} lists no sources`;
    const roots = info.root.flatMap((r) => (Array.isArray(r) ? Array.from({ length: r[1] - r[0] + 1 }, (_, i) => r[0] + i) : [r]));
    const inputs = [
      ...roots.map((id) => path.resolve(path.dirname(infoFile), info.fileNames![id - 1] ?? '')),
      ...sourceFolders(dir),
      config,
      path.join(root, 'tsconfig.base.json'),
      path.join(dir, 'package.json'),
      path.join(root, 'package.json'),
    ];
    for (const input of inputs) {
      const time = mtime(input);
      if (time === undefined) return `${relative(input)}, a source of ${relative(dir)}, is gone`;
      if (time > built) return `${relative(input)} is newer than ${relative(infoFile)}`;
    }
    for (const ref of readJsonc<ProjectConfig>(config).references ?? []) {
      const upstream = path.resolve(dir, ref.path);
      const changed = latestDts.get(upstream);
      if (changed === undefined) return `${relative(upstream)} (referenced by ${relative(dir)}) is not built before it in ${buildConfig}`;
      if (changed > built) return `${relative(upstream)}'s declarations changed after ${relative(infoFile)}`;
    }
    latestDts.set(dir, info.latestChangedDtsFile ? (mtime(path.resolve(path.dirname(infoFile), info.latestChangedDtsFile)) ?? Infinity) : 0);
  }
  return undefined;
}

export default function setup(): void {
  const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
  const stale = tscBuildStaleness(root);
  if (!stale) return;
  process.stdout.write(`global setup: building (tsc -b tsconfig.build.json): ${stale}\n`);
  execFileSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '-b', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
}
