#!/usr/bin/env node
// `npm run example`: runs the reference service from dist/, compiling first only when dist/ is
// missing or older than the sources it is compiled from. A Skein started by `npm start` usually
// runs from the same dist/ meanwhile, so nothing is rebuilt that is already built: no UI build
// (it would replace the assets that Skein serves), and TypeScript's incremental build rewrites
// only the files whose sources changed. Plain JavaScript, because it runs before anything is compiled.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, statSync, utimesSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const ENTRY = join(ROOT, 'dist', 'examples', 'reference-service', 'run.js');
/** Each TypeScript project the example needs, and the file its build writes last. */
const PROJECTS = [
  { tsconfig: join(ROOT, 'sdk', 'tsconfig.json'), sources: [join(ROOT, 'sdk', 'src')], stamp: join(ROOT, 'sdk', 'dist', '.tsbuildinfo') },
  { tsconfig: join(ROOT, 'tsconfig.json'), sources: [join(ROOT, 'src'), join(ROOT, 'examples')], stamp: join(ROOT, 'dist', '.tsbuildinfo') },
];

/** The newest .ts file under `dir` (and its modification time), or undefined. */
function newest(dir) {
  let best;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    const found = entry.isDirectory() ? newest(path) : entry.isFile() && entry.name.endsWith('.ts') ? { path, mtimeMs: statSync(path).mtimeMs } : undefined;
    if (found && (!best || found.mtimeMs > best.mtimeMs)) best = found;
  }
  return best;
}

/** Why `project` needs compiling, or undefined when its last build is newer than every source. */
function staleness(project) {
  if (!existsSync(project.stamp)) return `${relative(ROOT, project.stamp)} is missing`;
  const built = statSync(project.stamp).mtimeMs;
  for (const path of [project.tsconfig, ...project.sources]) {
    const changed = path.endsWith('.json') ? { path, mtimeMs: statSync(path).mtimeMs } : newest(path);
    if (changed && changed.mtimeMs > built) return `${relative(ROOT, changed.path)} changed since the last build`;
  }
  return undefined;
}

/** The compiler's command, as package.json's `bin` names it (the package exports no path to it). */
function tscPath() {
  const manifest = createRequire(import.meta.url).resolve('typescript/package.json');
  return join(dirname(manifest), JSON.parse(readFileSync(manifest, 'utf8')).bin.tsc);
}

for (const project of PROJECTS) {
  const why = existsSync(ENTRY) ? staleness(project) : `${relative(ROOT, ENTRY)} is missing`;
  if (why === undefined) continue;
  console.error(`compiling ${relative(ROOT, project.tsconfig)}: ${why}`);
  const r = spawnSync(process.execPath, [tscPath(), '-p', project.tsconfig], { cwd: ROOT, stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
  // An incremental build with nothing to emit leaves the stamp as it was: mark it current, so a
  // file saved without a change is not compiled again at every start.
  if (existsSync(project.stamp)) {
    const now = new Date();
    utimesSync(project.stamp, now, now);
  }
}

await import(pathToFileURL(ENTRY).href);
