// The Ansible role in deploy/ansible/ (docs/deploy.md, "Ansible"), checked by Ansible itself:
// the playbook passes `ansible-playbook --syntax-check` and ansible-lint's production profile,
// and a real run as root against this machine (connection local), with every path under a
// temporary prefix and systemd left alone, installs a release tarball made by
// deploy/ansible/build-release.sh (its real `npm ci --omit=dev`, from the npm cache), writes a
// configuration Skein accepts and the hardened unit, runs again changing nothing, and restarts
// Skein (the handler) when a variable changes. The installed release then starts and answers
// /ready with the configuration the role wrote, and a configuration Skein refuses fails the play.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, readlinkSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';
import { loadConfig } from '../../src/config/load.js';
import type { SkeinConfig } from '../../src/config/schema.js';
import { startSkein, tempDir } from '../helpers/skein-process.js';

// dist/test/deploy → repository root
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
const DIR = join(ROOT, 'deploy', 'ansible');
const PLAYBOOK = join(DIR, 'playbook.yml');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  return new Promise((resolve) => {
    execFile(command, args, { cwd: opts.cwd ?? DIR, env: { ...process.env, ANSIBLE_NOCOLOR: '1', ...opts.env }, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : -1) : 0;
      resolve({ code, stdout, stderr: err && code === -1 ? `${stderr}${err.message}` : stderr });
    });
  });
}

const failed = (what: string, r: Run) => `${what} exited with ${r.code}:\n${r.stdout}\n${r.stderr}`;

test('the playbook and the example inventory pass ansible-playbook --syntax-check', async () => {
  const r = await run('ansible-playbook', ['--syntax-check', '-i', 'inventory.example.ini', 'playbook.yml']);
  assert.equal(r.code, 0, failed('ansible-playbook --syntax-check (Debian package ansible)', r));
});

test('the role and the playbook pass ansible-lint with the production profile', async () => {
  const r = await run('ansible-lint', ['--nocolor', '--offline', '--profile', 'production', 'playbook.yml', 'roles/skein']);
  assert.equal(r.code, 0, failed('ansible-lint (Debian package ansible-lint)', r));
  assert.match(`${r.stdout}${r.stderr}`, /Passed with production profile/);
});

test('the role\'s Node ranges are the ones package.json\'s engines declares, and the Node it installs is in them', () => {
  type Range = { min: string; below?: string };
  const defaults = parseYaml(readFileSync(join(DIR, 'roles', 'skein', 'defaults', 'main.yml'), 'utf8')) as { skein_node_ranges: Range[]; skein_node_major: number };
  const engines = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { engines: { node: string } }).engines.node;
  // The forms engines.node uses: `^x.y.z` (that major line from x.y.z) and `>=x.y.z`.
  const ranges = engines.split('||').map((part): Range => {
    const m = /^\s*(\^|>=)\s*(\d+)\.(\d+)\.(\d+)\s*$/.exec(part);
    assert.ok(m, `package.json engines.node (${engines}) uses only ^x.y.z and >=x.y.z; else update this test and skein_node_ranges together`);
    const min = `${m[2]}.${m[3]}.${m[4]}`;
    return m[1] === '^' ? { min, below: `${Number(m[2]) + 1}.0.0` } : { min };
  });
  assert.deepEqual(defaults.skein_node_ranges, ranges, 'skein_node_ranges follows engines.node');
  assert.ok(ranges.some((r) => Number(r.min.split('.')[0]) === defaults.skein_node_major), 'skein_node_major (what nodesource installs) is a supported line');
});

test('build-release.sh makes the same tarball from the same build, so a playbook run with a rebuilt artifact installs nothing', async () => {
  const dir = tempDir('skein-release-');
  const tarballs = [join(dir, 'a.tgz'), join(dir, 'b.tgz')];
  for (const out of tarballs) {
    const r = await run(join(DIR, 'build-release.sh'), [out], { env: { SKEIN_SKIP_BUILD: '1' } });
    assert.equal(r.code, 0, failed('deploy/ansible/build-release.sh', r));
  }
  assert.ok(readFileSync(tarballs[0]!).equals(readFileSync(tarballs[1]!)));
  const list = spawnSync('tar', ['-tzf', tarballs[0]!], { encoding: 'utf8' }).stdout.split('\n');
  for (const file of ['package.json', 'package-lock.json', 'dist/src/cli/main.js', 'dist/ui/index.html', 'docs/deploy.md']) {
    assert.ok(list.includes(`skein-${packageVersion()}/${file}`), `the tarball has ${file}`);
  }
  assert.ok(!list.some((f) => f.includes('/node_modules/') || f.includes('/dist/test/')), 'no node_modules, no compiled tests');
  rmSync(dir, { recursive: true, force: true });
});

// The run creates a system user and group and chowns files to them: only root can.
const notRoot = process.getuid?.() !== 0 && 'the local run creates a system user and sets file owners: it needs root (CI runs as root)';

describe('a local run as root into a prefix', { skip: notRoot }, () => {
  const work = tempDir('skein-ansible-');
  const prefix = join(work, 'root');
  const artifact = join(work, 'skein.tgz');
  const user = 'skein-ansible-test';
  // Node and npm are this machine's; npm installs from the cache `npm ci` filled, as CI has no registry to spare.
  const baseVars = {
    skein_prefix: prefix,
    skein_artifact: artifact,
    skein_node_install: 'none',
    skein_node_bin: process.execPath,
    skein_npm_bin: join(dirname(process.execPath), 'npm'),
    skein_npm_ci_args: ['--omit=dev', '--workspaces=false', '--no-audit', '--no-fund', '--prefer-offline'],
    skein_manage_service: false,
    skein_user: user,
    skein_group: user,
    ansible_become: false,
  };
  const inventory = join(work, 'inventory.ini');
  const path = (p: string) => join(prefix, p);
  const runs: Record<string, PlaybookRun> = {};
  let firstConfig = '';
  let invalid: Run | undefined;

  before(async () => {
    // The prefix stands for a root file system: its top directories exist, as on a host.
    for (const d of ['etc', 'opt', 'var/lib']) mkdirSync(path(d), { recursive: true, mode: 0o755 });
    const build = await run(join(DIR, 'build-release.sh'), [artifact], { env: { SKEIN_SKIP_BUILD: '1' } });
    assert.equal(build.code, 0, failed('deploy/ansible/build-release.sh', build));
    writeFileSync(inventory, `[skein]\nlocalhost ansible_connection=local ansible_python_interpreter=/usr/bin/python3\n`);
    runs['first'] = await playbook(baseVars);
    firstConfig = readFileSync(path('etc/skein/skein.yaml'), 'utf8');
    runs['second'] = await playbook(baseVars);
    runs['changed'] = await playbook({ ...baseVars, skein_retention: '7d' });
    invalid = await run('ansible-playbook', ['-i', inventory, PLAYBOOK, '-e', JSON.stringify({ ...baseVars, skein_retention: 'a fortnight' })], { cwd: work });
  });

  after(() => {
    rmSync(work, { recursive: true, force: true });
    spawnSync('userdel', [user]);
    spawnSync('groupdel', [user]);
  });

  async function playbook(vars: Record<string, unknown>): Promise<PlaybookRun> {
    const r = await run('ansible-playbook', ['-i', inventory, PLAYBOOK, '-e', JSON.stringify(vars)], {
      cwd: work,
      env: { ANSIBLE_STDOUT_CALLBACK: 'json', ANSIBLE_RETRY_FILES_ENABLED: '0' },
    });
    assert.equal(r.code, 0, failed('ansible-playbook', r));
    return parseRun(r.stdout);
  }

  test('the first run installs the release: current points at it, its dependencies are the production ones, root owns the code', () => {
    const first = runs['first']!;
    assert.ok(first.stats.changed > 0);
    assert.ok(first.changed.includes('skein : Install the production dependencies'), `npm ci ran: ${first.changed.join(', ')}`);
    const current = path('opt/skein/current');
    assert.ok(lstatSync(current).isSymbolicLink());
    assert.match(readlinkSync(current), /^releases\/[0-9a-f]{12}$/);
    for (const file of ['package.json', 'package-lock.json', 'dist/src/cli/main.js', 'dist/ui/index.html', 'node_modules/@duckdb/node-api/package.json']) {
      assert.ok(existsSync(join(current, file)), `the release has ${file}`);
    }
    assert.ok(!existsSync(join(current, 'node_modules', 'typescript')), 'no devDependency is installed');
    assert.equal(statSync(join(current, 'dist/src/cli/main.js')).uid, 0, 'the code belongs to root, not to whoever packed it');
  });

  test('the configuration passes Skein\'s validation and is the production example\'s, listening on loopback only', () => {
    const retention = (text: string) => (parseYaml(text) as { storage: { retention: string } }).storage.retention;
    assert.equal(retention(firstConfig), '14d', 'retention by default');
    const file = path('etc/skein/skein.yaml');
    assert.equal(retention(readFileSync(file, 'utf8')), '7d', 'the last run set skein_retention: 7d');
    const written = loadConfig({ file, env: {} });
    for (const address of [written.server.http_listen_address, written.receivers.otlp.protocols.grpc.endpoint, written.receivers.otlp.protocols.http.endpoint]) {
      assert.match(address, /^127\.0\.0\.1:\d+$/, 'loopback unless skein_listen_address says otherwise');
    }
    // Apart from the addresses (the example listens everywhere), the role's defaults are the
    // production example: its tail sampling, redaction, memory limiter, pipeline and storage.
    const example = loadConfig({ file: join(ROOT, 'examples', 'skein.production.yaml'), env: {} });
    const firstFile = join(work, 'first-skein.yaml');
    writeFileSync(firstFile, firstConfig);
    const defaults = loadConfig({ file: firstFile, env: {} });
    assert.deepEqual(withoutAddresses(defaults), withoutAddresses(example));
    assert.deepEqual(written.pipeline.processors, ['memory_limiter', 'redaction', 'tail_sampling', 'batch']);
    const processors = (parseYaml(firstConfig) as { processors: { redaction: object; tail_sampling: { policies: Array<{ name: string }> } } }).processors;
    assert.deepEqual(processors.redaction, {}, 'redaction on, with the built-in deny-list');
    assert.deepEqual(processors.tail_sampling.policies.map((p) => p.name), ['errors', 'slow', 'rest']);
  });

  test('owners and modes: the configuration readable by Skein\'s group only, the data directory Skein\'s own', () => {
    const uid = Number(spawnSync('id', ['-u', user], { encoding: 'utf8' }).stdout);
    const gid = Number(spawnSync('id', ['-g', user], { encoding: 'utf8' }).stdout);
    const expect = (p: string, owner: number, group: number, mode: number) => {
      const s = statSync(path(p));
      assert.deepEqual([s.uid, s.gid, (s.mode & 0o7777).toString(8)], [owner, group, mode.toString(8)], `${p}: owner, group, mode`);
    };
    expect('etc/skein', 0, gid, 0o750);
    expect('etc/skein/skein.yaml', 0, gid, 0o640);
    expect('var/lib/skein', uid, gid, 0o750);
    expect('etc/systemd/system/skein.service', 0, 0, 0o644);
    expect('opt/skein/releases', 0, 0, 0o755);
  });

  test('the unit has every hardening line of deploy/skein.service, runs the installed release as the static user', () => {
    const unit = readFileSync(path('etc/systemd/system/skein.service'), 'utf8');
    const lines = new Set(unit.split('\n'));
    const reference = readFileSync(join(ROOT, 'deploy', 'skein.service'), 'utf8');
    const hardening = reference.slice(reference.indexOf('# Hardening.'), reference.indexOf('[Install]')).split('\n').filter((l) => /^[A-Za-z]+=/.test(l));
    assert.ok(hardening.length >= 20, 'the reference unit has its hardening section');
    for (const line of hardening) assert.ok(lines.has(line), `the unit has ${line}`);
    for (const line of [
      `ExecStart=${process.execPath} --expose-gc /opt/skein/current/dist/src/cli/main.js serve --config /etc/skein/skein.yaml --data-dir /var/lib/skein`,
      'WorkingDirectory=/opt/skein/current',
      `User=${user}`,
      `Group=${user}`,
      'StateDirectory=skein',
      'StateDirectoryMode=0750',
      'UMask=0027',
    ]) {
      assert.ok(lines.has(line), `the unit has ${line}`);
    }
    assert.ok(![...lines].some((l) => l.startsWith('DynamicUser=') || l.startsWith('ConfigurationDirectory=')), 'no dynamic user, and systemd leaves /etc/skein\'s mode alone');
  });

  test('systemd-analyze verify accepts the unit without a warning', { skip: !existsSync('/usr/bin/systemd-analyze') && 'systemd-analyze is not installed' }, () => {
    const r = spawnSync('systemd-analyze', ['verify', path('etc/systemd/system/skein.service')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, '', 'no warning');
  });

  test('a second run with the same variables changes nothing and restarts nothing', () => {
    const second = runs['second']!;
    assert.equal(second.stats.changed, 0, `changed: ${second.changed.join(', ')}`);
    assert.ok(!second.ran.includes('skein : Restart Skein'), 'the handler was not notified');
    assert.ok(second.skipped.includes('skein : Unpack the release'), 'the release is not unpacked again');
  });

  test('a changed variable rewrites the configuration and notifies the restart handler', () => {
    const changed = runs['changed']!;
    assert.deepEqual(changed.changed, ['skein : Write the configuration']);
    assert.ok(changed.ran.includes('skein : Restart Skein'), 'the handler was notified');
    assert.ok(runs['first']!.ran.includes('skein : Restart Skein'), 'the first run notified it too');
  });

  test('a configuration Skein refuses fails the play, with Skein\'s message, and the file in place stays', () => {
    assert.notEqual(invalid!.code, 0, 'the play failed');
    assert.match(invalid!.stdout, /failed to validate/);
    assert.match(invalid!.stdout, /storage\.retention/, 'skein config check names the key');
    assert.match(readFileSync(path('etc/skein/skein.yaml'), 'utf8'), /retention: 7d/);
  });

  test('the installed release starts with the configuration the role wrote and answers /ready', async () => {
    const skein = await startSkein({
      cliPath: path('opt/skein/current/dist/src/cli/main.js'),
      configYaml: firstConfig,
      dataDir: join(work, 'data'),
    });
    try {
      const res = await fetch(`${skein.url}/ready`);
      assert.equal(res.status, 200);
    } finally {
      await skein.stop();
    }
  });
});

interface PlaybookRun {
  stats: { changed: number; failures: number };
  /** Names (`role : task`) of the tasks and handlers that ran on the host, skipped ones included. */
  ran: string[];
  changed: string[];
  skipped: string[];
}

/** Reads the output of Ansible's json stdout callback. */
function parseRun(stdout: string): PlaybookRun {
  const out = JSON.parse(stdout.slice(stdout.indexOf('{'))) as {
    plays: Array<{ tasks: Array<{ task: { name: string }; hosts: Record<string, { changed?: boolean; skipped?: boolean }> }> }>;
    stats: Record<string, { changed: number; failures: number }>;
  };
  const results = out.plays.flatMap((p) => p.tasks).map((t) => ({ name: t.task.name, result: t.hosts['localhost'] })).filter((t) => t.result);
  return {
    stats: out.stats['localhost']!,
    ran: results.map((t) => t.name),
    changed: results.filter((t) => t.result!.changed).map((t) => t.name),
    skipped: results.filter((t) => t.result!.skipped).map((t) => t.name),
  };
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
}

/** The configuration without its listen addresses. */
function withoutAddresses(config: SkeinConfig): unknown {
  const copy = structuredClone(config);
  copy.server.http_listen_address = '';
  copy.receivers.otlp.protocols.grpc.endpoint = '';
  copy.receivers.otlp.protocols.http.endpoint = '';
  return copy;
}
