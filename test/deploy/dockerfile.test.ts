// deploy/Dockerfile checked the way `docker build -f deploy/Dockerfile .` would use it, since no
// container engine can pull a base image here: every COPY source is in the build context and kept
// by .dockerignore, nothing tracked is left out but benchmark results, the runtime stage takes
// from the build stage only what was copied in or built there, it runs as the issue asks
// (tini, a numeric non-root user, a /ready health check, the data directory a volume, the Node
// line CI tests), and the install step succeeds in a clean directory holding only what the
// Dockerfile copies before it, run by the npm the base image ships (pinned as a devDependency,
// docs/deploy.md §3b) offline from the local npm cache that this checkout's own `npm ci` filled.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, join, posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { copiesOf, dockerignore, parseDockerfile, words, workdirAt, type Stage } from '../helpers/dockerfile.js';
import { enginesNode, lineFloors } from '../helpers/node-engines.js';
import { tempDir } from '../helpers/skein-process.js';

// dist/test/deploy → repository root, the build context
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const stages = parseDockerfile(readFileSync(join(ROOT, 'deploy', 'Dockerfile'), 'utf8'));
const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { bin: Record<string, string>; devDependencies: Record<string, string> };
const build = stages[0]!;
const runtime = stages.at(-1)!;
/** What the build stage makes (npm ci, npm run build) rather than copies in; this checkout made the same before its tests ran. */
const BUILT = ['node_modules', 'dist', 'sdk/dist'];
const run = promisify(execFile);

function only(stage: Stage, keyword: string): string {
  const found = stage.instructions.filter((i) => i.keyword === keyword);
  assert.equal(found.length, 1, `stage ${stage.name} has one ${keyword}`);
  return found[0]!.args;
}

test("the .dockerignore reader follows docker's rules, not .gitignore's", () => {
  const ignores = dockerignore('# comment\nnode_modules\n/dist\n**/*.log\nbench/results\n!bench/results/keep.json\nsdk/*/tmp\n');
  const cases: Array<[string, boolean]> = [
    ['node_modules', true],
    ['node_modules/a/b.js', true],
    ['sdk/node_modules', false], // anchored at the root
    ['dist/src/x.js', true],
    ['a.log', true], // **/ also matches nothing
    ['a/b/c.log', true],
    ['bench/results/latest.json', true],
    ['bench/results/keep.json', false], // the last match wins
    ['bench/run.ts', false],
    ['sdk/x/tmp/y', true],
    ['sdk/x/y/tmp', false], // * stays within one path element
  ];
  assert.deepEqual(cases.map(([path]) => [path, ignores(path)]), cases);
});

test('every COPY from the build context names a path there that .dockerignore keeps', () => {
  const copies = stages.flatMap((s) => copiesOf(s).filter((c) => c.from === undefined));
  assert.ok(copies.length > 0);
  for (const copy of copies) {
    for (const src of copy.sources) {
      assert.doesNotMatch(src, /[*?[]/, `line ${copy.line}: ${src} is a pattern; this check reads plain paths`);
      if (src === '.') continue;
      assert.ok(existsSync(join(ROOT, src)), `line ${copy.line}: ${src} is not in the repository`);
      assert.ok(!ignored(src), `line ${copy.line}: ${src} is left out of the build context by .dockerignore`);
    }
  }
});

const gitFiles = await run('git', ['ls-files', '-z'], { cwd: ROOT, maxBuffer: 64 << 20 }).then(
  (r) => r.stdout.split('\0').filter((f) => f !== ''),
  () => undefined,
);

test('no tracked file is left out of the build context but benchmark results', { skip: gitFiles ? false : 'needs a git checkout' }, () => {
  // `COPY . .` then `npm run build` compiles src, test, bench, examples, ui and sdk: all of them must be there.
  const left = gitFiles!.filter((f) => ignored(f) && !f.startsWith('bench/results/'));
  assert.deepEqual(left, []);
});

test('the runtime stage takes from the build stage only what was copied in or built there', () => {
  const from = copiesOf(runtime).filter((c) => c.from !== undefined);
  assert.ok(from.length > 0);
  const workdir = workdirAt(build);
  for (const copy of from) {
    assert.equal(copy.from, build.name, `line ${copy.line} copies from the build stage`);
    for (const src of copy.sources) {
      const rel = posix.relative(workdir, src);
      assert.ok(!rel.startsWith('..'), `line ${copy.line}: ${src} is outside the build stage's ${workdir}`);
      assert.ok(existsSync(join(ROOT, rel)), `line ${copy.line}: ${rel} exists after npm ci and the build`);
      assert.ok(BUILT.includes(rel) || !ignored(rel), `line ${copy.line}: ${rel} is neither built nor in the build context`);
    }
  }
});

test('the image runs Skein under tini as a numeric non-root user, on the Node line CI tests, with a /ready health check and its data in a volume', () => {
  const floor = lineFloors(enginesNode(ROOT))[0]!;
  for (const stage of stages) {
    assert.equal(stage.image, `node:${floor.major}.${floor.minor}-bookworm-slim`, `stage ${stage.name} runs the floor of engines.node, the line CI tests`);
  }
  const user = only(runtime, 'USER');
  assert.match(user, /^\d+(:\d+)?$/, 'USER by number, so that Kubernetes runAsNonRoot can check it');
  assert.notEqual(Number(user.split(':')[0]), 0);

  assert.ok(runtime.instructions.some((i) => i.keyword === 'RUN' && /apt-get install .*\btini\b/.test(i.args)), 'the runtime stage installs tini');
  const entrypoint = words(only(runtime, 'ENTRYPOINT'));
  assert.deepEqual(entrypoint.slice(0, 3), ['/usr/bin/tini', '--', 'node']);
  assert.equal(entrypoint.at(-1), pkg.bin['skein'], 'the entry point is package.json bin.skein');
  assert.equal(only(runtime, 'STOPSIGNAL'), 'SIGTERM');

  assert.match(only(runtime, 'HEALTHCHECK'), /\/ready\b/);
  const cmd = words(only(runtime, 'CMD'));
  const dataDir = cmd[cmd.indexOf('--data-dir') + 1];
  assert.ok(dataDir !== undefined && cmd.includes('--data-dir'), 'CMD names the data directory');
  assert.ok(words(only(runtime, 'VOLUME')).includes(dataDir), `${dataDir} is a volume`);
  assert.ok(runtime.instructions.some((i) => i.keyword === 'RUN' && i.args.includes(`chown ${user} ${dataDir}`)), `${dataDir} belongs to ${user}`);
});

const work = tempDir('skein-dockerfile-');
after(() => rm(work, { recursive: true, force: true }));

test("the install step succeeds in a clean directory holding only what the Dockerfile copies before it, with the base image's npm", async () => {
  const install = build.instructions.find((i) => i.keyword === 'RUN' && /\bnpm ci\b/.test(i.args));
  assert.ok(install, 'the build stage runs npm ci');
  const command = words(install.args);
  assert.equal(command[0], 'npm', `line ${install.line} is one npm command`);
  assert.ok(!command.some((w) => /^(&&|\|\|?|;)$/.test(w)), `line ${install.line} is one npm command`);

  // The context as the install step sees it: what the COPY lines before it put in the working directory.
  const dir = join(work, 'src');
  const workdir = workdirAt(build, install.line);
  for (const copy of copiesOf(build).filter((c) => c.line < install.line)) {
    assert.equal(copy.from, undefined, `line ${copy.line} copies from the build context`);
    for (const src of copy.sources) {
      assert.ok(statSync(join(ROOT, src)).isFile(), `line ${copy.line}: this check copies files only, ${src} is not one`);
      const dest = posix.resolve(copy.workdir, copy.dest);
      const target = copy.dest.endsWith('/') || copy.sources.length > 1 ? posix.join(dest, posix.basename(src)) : dest;
      const rel = posix.relative(workdir, target);
      assert.ok(!rel.startsWith('..'), `line ${copy.line}: ${target} is outside ${workdir}, where npm ci runs`);
      mkdirSync(dirname(join(dir, rel)), { recursive: true });
      copyFileSync(join(ROOT, src), join(dir, rel));
    }
  }

  // npm as the base image ships it, and nothing of this machine's npm setup: no user or global
  // npmrc, no npm_config_* from the `npm test` that may be running us, no NODE_ENV.
  const npmCli = join(ROOT, 'node_modules', 'npm', 'bin', 'npm-cli.js');
  const npmVersion = (JSON.parse(readFileSync(join(ROOT, 'node_modules', 'npm', 'package.json'), 'utf8')) as { version: string }).version;
  assert.equal(npmVersion, pkg.devDependencies['npm'], 'the npm installed is the exact devDependency');
  for (const file of ['user-npmrc', 'global-npmrc']) writeFileSync(join(work, file), '');
  const cache = process.env['npm_config_cache'] ?? join(homedir(), '.npm');
  const isolation = ['--offline', `--cache=${cache}`, `--userconfig=${join(work, 'user-npmrc')}`, `--globalconfig=${join(work, 'global-npmrc')}`];
  const env = { PATH: process.env['PATH'] ?? '', HOME: work };
  const npm = (args: string[]) => run(process.execPath, [npmCli, ...args, ...isolation], { cwd: dir, env, maxBuffer: 64 << 20 });

  const out = await npm(command.slice(1)).then(
    (r) => r.stdout + r.stderr,
    (err: { code: number; stdout: string; stderr: string }) =>
      assert.fail(`npm ${npmVersion} ${command.slice(1).join(' ')} failed (exit ${err.code}); with --offline, a package missing from ${cache} fails too (run npm ci first):\n${(err.stdout + err.stderr).slice(-4000)}`),
  );
  assert.doesNotMatch(out, /EBADENGINE/, `npm ci warns that a package does not support Node ${process.versions.node}:\n${out}`);
  assert.ok(existsSync(join(dir, 'node_modules', '.package-lock.json')), 'npm ci installed the tree');

  // legacy-peer-deps (.npmrc) stops npm from installing or checking peers; `npm ls` still
  // reports them, and the only ones allowed unmet are those of the Perses plugin (.npmrc says why).
  const ls = await npm(['ls', '--all', '--json']).then(
    (r) => r.stdout,
    (err: { stdout: string }) => err.stdout,
  );
  assert.deepEqual(unmet(JSON.parse(ls) as LsNode).filter((p) => !p.by.startsWith('@perses-dev/')), []);
});

interface LsNode {
  missing?: boolean;
  invalid?: string;
  dependencies?: Record<string, LsNode>;
}

/** Every missing or out-of-range dependency in an `npm ls --json` tree, with the package that wants it. */
function unmet(root: LsNode): Array<{ name: string; by: string }> {
  const found: Array<{ name: string; by: string }> = [];
  const walk = (node: LsNode, parent: string): void => {
    for (const [name, child] of Object.entries(node.dependencies ?? {})) {
      if (child.missing) found.push({ name, by: parent });
      // `"^17.0.2 || ^18.0.0" from node_modules/@perses-dev/core, …`
      for (const m of child.invalid?.matchAll(/" from ([^,]+)/g) ?? []) found.push({ name, by: m[1]!.replace(/^.*node_modules\//, '') });
      walk(child, name);
    }
  };
  walk(root, 'skein');
  return found;
}
