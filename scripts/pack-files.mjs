#!/usr/bin/env node
// npm pack helpers for the workspace packages (run from a package folder by its prepack/postpack scripts):
//   prepack node   copies the shipped ONNX models (the table in runtime-common/shipped-models.ts) into runtime-node/models/
//   prepack web    builds runtime-web/dist/browser/ (the prebuilt module, onnxruntime-web's wasm files, the shipped models)
//   prepack tools  copies the layer specs and the photo manifest into tools/models/
//   postpack node|tools  removes the copy again, so the checkout keeps one models/ folder (the repository's)
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
const models = path.join(root, 'models');
const [stage, pkg] = process.argv.slice(2);
const folder = { node: 'runtime-node', web: 'runtime-web', tools: 'tools' }[pkg];
if (!['prepack', 'postpack'].includes(stage) || !folder) {
  console.error('usage: pack-files.mjs prepack|postpack node|web|tools');
  process.exit(2);
}
const copyDir = path.join(root, folder, 'models');

async function shippedFiles() {
  const table = path.join(root, 'runtime-common', 'dist', 'shipped-models.js');
  if (!existsSync(table)) throw new Error(`${table} is missing: build first (npm run build)`);
  const { SHIPPED_MODELS } = await import(pathToFileURL(table).href);
  return Object.values(SHIPPED_MODELS).map((m) => m.file);
}

function copy(files) {
  rmSync(copyDir, { recursive: true, force: true });
  for (const file of files) {
    const from = path.join(models, file);
    if (!existsSync(from)) throw new Error(`${path.relative(root, from)} is missing: the ${pkg} package ships it`);
    mkdirSync(path.dirname(path.join(copyDir, file)), { recursive: true });
    cpSync(from, path.join(copyDir, file));
  }
  console.error(`${folder}/models: ${files.length} files from models/`);
}

if (stage === 'postpack') {
  if (pkg !== 'web') rmSync(copyDir, { recursive: true, force: true });
} else if (pkg === 'node') {
  copy(await shippedFiles());
} else if (pkg === 'tools') {
  const specs = readdirSync(models).filter((n) => n.endsWith('.json'));
  copy([...specs, 'photo-set/manifest.json']);
} else {
  const build = path.join(root, 'tools', 'dist', 'web', 'build.js');
  if (!existsSync(build)) throw new Error(`${build} is missing: build first (npm run build)`);
  const { buildWebPackage, PACKAGE_BROWSER_DIR } = await import(pathToFileURL(build).href);
  const files = await buildWebPackage();
  console.error(`${PACKAGE_BROWSER_DIR}: ${files.length} files`);
}
