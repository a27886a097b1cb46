// The README's command list against the commands `skein` registers: every command is listed
// (and nothing that does not exist), each with every flag it takes, or, for the commands that
// ask a server, with the SERVER FLAGS named below the list. A command or flag added without
// its README line fails here.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { createProgram } from '../../src/cli/program.js';

// dist/test/cli → repository root; the README is read, not a copy.
const README = readFileSync(fileURLToPath(new URL('../../../README.md', import.meta.url)), 'utf8');

interface Registered {
  /** `skein config check` */
  path: string;
  flags: Array<{ long: string; short?: string | undefined }>;
}

/** Every command that runs something (a leaf of the tree), with its flags. */
function registered(command: Command, path: string[] = ['skein']): Registered[] {
  if (command.commands.length > 0) return command.commands.flatMap((c) => registered(c, [...path, c.name()]));
  return [{ path: path.join(' '), flags: command.options.map((o) => ({ long: o.long!, short: o.short })) }];
}

/** The README's "Command line" section: its listed commands (text of each entry by path) and the SERVER FLAGS paragraph. */
function readmeCommands(): { entries: Map<string, string>; serverFlags: string } {
  const section = README.split(/^## Command line$/m)[1]?.split(/^## /m)[0];
  assert.ok(section, 'the README has a "## Command line" section');
  const block = /```sh\n([\s\S]*?)```/.exec(section)?.[1];
  assert.ok(block, 'the section opens with a sh block listing the commands');
  const entries = new Map<string, string>();
  let current: string | undefined;
  for (const raw of block.split('\n')) {
    const line = raw.replace(/#.*$/, '').trimEnd();
    if (line.trim() === '') continue;
    if (line.startsWith('skein ')) {
      // The path: the leading words before the first flag or argument.
      const words = line.split(/\s+/);
      const end = words.findIndex((w, i) => i > 0 && !/^[a-z][a-z-]*$/.test(w));
      current = words.slice(0, end === -1 ? words.length : end).join(' ');
      assert.ok(!entries.has(current), `${current} is listed twice`);
      entries.set(current, line);
    } else {
      assert.ok(current, `a continuation line before any command: ${raw}`);
      entries.set(current, `${entries.get(current)!} ${line.trim()}`);
    }
  }
  const serverFlags = section.split(/^SERVER FLAGS:/m)[1]?.split('\n\n')[0] ?? '';
  return { entries, serverFlags };
}

/** True when `flag` stands in `text` as a word of its own (`--token` in `--token T`, not in `--token-env`). */
function mentions(text: string, flag: string): boolean {
  return new RegExp(`(^|[\\s\`\\[|(])${flag.replace(/[-]/g, '\\-')}(?=[\\s\`\\]|),=]|$)`).test(text);
}

test('the README lists every command skein registers, and only those', () => {
  const { entries } = readmeCommands();
  assert.deepEqual([...entries.keys()].sort(), registered(createProgram()).map((c) => c.path).sort());
});

test("each command's README line names every flag it takes (the server flags once, below the list)", () => {
  const { entries, serverFlags } = readmeCommands();
  assert.ok(serverFlags.length > 0, 'the README has a SERVER FLAGS paragraph');
  const missing: string[] = [];
  for (const { path, flags } of registered(createProgram())) {
    const line = entries.get(path) ?? '';
    const asksServer = flags.some((f) => f.long === '--server');
    if (asksServer && !line.includes('[SERVER FLAGS]')) missing.push(`${path}: [SERVER FLAGS]`);
    for (const flag of flags) {
      const named = mentions(line, flag.long) || (flag.short !== undefined && mentions(line, flag.short));
      const asServerFlag = asksServer && mentions(serverFlags, flag.long);
      if (!named && !asServerFlag) missing.push(`${path}: ${flag.long}`);
    }
  }
  assert.deepEqual(missing, [], `flags missing from README.md's command list:\n  ${missing.join('\n  ')}`);
});
