// A Dockerfile and its .dockerignore read the way `docker build` reads them, for the test that
// checks the image where no container engine can run: instructions by stage (continuation lines
// joined, comments dropped), each stage's working directory, COPY/ADD sources and flags, and
// which paths of the build context the ignore file leaves out.
import { posix } from 'node:path';

export interface Instruction {
  /** Upper case: FROM, RUN, COPY … */
  keyword: string;
  /** Everything after the keyword, continuation lines joined. */
  args: string;
  /** 1-based line where the instruction starts. */
  line: number;
}

export interface Stage {
  /** The `AS` name, or the stage's index as docker numbers it. */
  name: string;
  image: string;
  instructions: Instruction[];
}

export interface Copy {
  keyword: 'COPY' | 'ADD';
  /** The stage named by --from, when the sources come from another stage. */
  from?: string;
  sources: string[];
  dest: string;
  /** The working directory of the stage at this instruction, against which a relative dest lands. */
  workdir: string;
  line: number;
}

export function parseDockerfile(text: string): Stage[] {
  const stages: Stage[] = [];
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const first = lines[i]!.trim();
    if (first === '' || first.startsWith('#')) continue;
    const start = i + 1;
    let joined = first;
    // A trailing backslash continues the instruction; comment lines inside it are dropped.
    while (joined.endsWith('\\') && i + 1 < lines.length) {
      joined = joined.slice(0, -1);
      const next = lines[++i]!.trim();
      if (!next.startsWith('#')) joined += ` ${next}`;
    }
    const [keyword, ...rest] = joined.split(/\s+/);
    const instruction = { keyword: keyword!.toUpperCase(), args: rest.join(' '), line: start };
    if (instruction.keyword === 'FROM') {
      const [image, as, name] = rest;
      stages.push({ name: as?.toUpperCase() === 'AS' && name ? name : String(stages.length), image: image!, instructions: [] });
    }
    if (stages.length === 0) throw new Error(`Dockerfile line ${start}: ${instruction.keyword} before the first FROM`);
    stages.at(-1)!.instructions.push(instruction);
  }
  return stages;
}

/** The exec form `["a", "b"]` as its array; the shell form split on white space. */
export function words(args: string): string[] {
  return args.trimStart().startsWith('[') ? (JSON.parse(args) as string[]) : args.trim().split(/\s+/);
}

/** The working directory of a stage at the instruction on `line` (by default after its last WORKDIR). */
export function workdirAt(stage: Stage, line = Infinity): string {
  return stage.instructions.filter((i) => i.keyword === 'WORKDIR' && i.line < line).reduce((dir, i) => posix.resolve(dir, i.args.trim()), '/');
}

/** The COPY and ADD instructions of a stage, with the working directory each lands in. */
export function copiesOf(stage: Stage): Copy[] {
  const copies: Copy[] = [];
  for (const ins of stage.instructions) {
    if (ins.keyword !== 'COPY' && ins.keyword !== 'ADD') continue;
    let args = ins.args.trim();
    let from: string | undefined;
    for (let flag = args.match(/^--([a-z-]+)(?:=(\S*))?\s+/); flag !== null; flag = args.match(/^--([a-z-]+)(?:=(\S*))?\s+/)) {
      if (flag[1] === 'from') from = flag[2];
      args = args.slice(flag[0].length);
    }
    const all = words(args);
    copies.push({ keyword: ins.keyword, ...(from === undefined ? {} : { from }), sources: all.slice(0, -1), dest: all.at(-1)!, workdir: workdirAt(stage, ins.line), line: ins.line });
  }
  return copies;
}

/**
 * Whether .dockerignore leaves `path` (relative to the context root, `/`-separated) out of the
 * build context. Docker's rules, which are not .gitignore's: patterns are anchored at the root,
 * `*` and `?` stay within one path element, `**` spans any number, a pattern that matches a
 * directory leaves out everything under it, `!` takes a path back, and the last match wins.
 */
export function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const keep = l.startsWith('!');
      const pattern = posix.normalize((keep ? l.slice(1) : l).trim().replace(/^\/+/, ''));
      return { keep, re: patternRegExp(pattern) };
    });
  return (path) => {
    const parts = posix.normalize(path).split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let ignored = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) ignored = !rule.keep;
    return ignored;
  };
}

function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === '*' && pattern[i + 1] === '*') {
      // `**/` may also match nothing: `**/x` matches `x` at the root.
      if (pattern[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}
