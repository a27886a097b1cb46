// The module specifiers a TypeScript source file names: `import … from`, `import '…'`,
// `export … from`, `import('…')` (also in type positions) and `import x = require('…')`.
// TypeScript 7's package has no JavaScript compiler API (no ts.preProcessFile), so this is
// a small scanner: it tokenizes just enough (comments, strings, template literals, regular
// expression literals) that an import-like text inside any of them is never mistaken for one.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, sep } from 'node:path';

export interface ImportRef {
  /** The specifier as written, e.g. `../store/store.js` or `@duckdb/node-api`. */
  specifier: string;
  /** 1-based line of the specifier. */
  line: number;
}

type Tok =
  | { t: 'str'; v: string; line: number }
  | { t: 'word'; v: string; line: number }
  | { t: 'punct'; v: string; line: number }
  /** A template or regular expression literal: an operand, never a specifier. */
  | { t: 'literal'; v: ''; line: number };

const KEYWORDS_BEFORE_EXPRESSION = new Set([
  'return', 'typeof', 'instanceof', 'in', 'of', 'new', 'delete', 'void', 'throw', 'case', 'do', 'else', 'yield', 'await',
]);

/** Significant tokens of `src`: words, punctuation and the values of plain string literals. */
function tokenize(src: string): Tok[] {
  const out: Tok[] = [];
  let i = 0;
  let line = 1;
  // One entry per open template literal: the brace depth at which its `${` was opened.
  const templates: number[] = [];
  let braces = 0;

  const isWord = (c: string): boolean => /[A-Za-z0-9_$]/.test(c);
  const advance = (to: number): void => {
    for (let k = i; k < to; k++) if (src[k] === '\n') line++;
    i = to;
  };
  const regexAllowed = (): boolean => {
    const prev = out[out.length - 1];
    if (!prev) return true;
    if (prev.t === 'str' || prev.t === 'literal') return false;
    if (prev.t === 'word') return KEYWORDS_BEFORE_EXPRESSION.has(prev.v);
    return !(prev.v === ')' || prev.v === ']' || prev.v === '}');
  };
  /** Skips template text from i (just after ` or a closing `}`) to the end of the literal or the next `${`. */
  const templateText = (): void => {
    while (i < src.length) {
      const c = src[i]!;
      if (c === '\\') advance(i + 2);
      else if (c === '`') {
        advance(i + 1);
        return;
      } else if (c === '$' && src[i + 1] === '{') {
        advance(i + 2);
        templates.push(braces);
        braces++;
        return;
      } else advance(i + 1);
    }
  };

  while (i < src.length) {
    const c = src[i]!;
    const next = src[i + 1];
    if (c === '\n' || c === ' ' || c === '\t' || c === '\r') {
      advance(i + 1);
    } else if (c === '/' && next === '/') {
      const end = src.indexOf('\n', i);
      advance(end === -1 ? src.length : end);
    } else if (c === '/' && next === '*') {
      const end = src.indexOf('*/', i + 2);
      advance(end === -1 ? src.length : end + 2);
    } else if (c === '"' || c === "'") {
      const start = line;
      let v = '';
      let k = i + 1;
      while (k < src.length && src[k] !== c && src[k] !== '\n') {
        if (src[k] === '\\') {
          v += src[k + 1] ?? '';
          k += 2;
        } else v += src[k++];
      }
      advance(k + 1);
      out.push({ t: 'str', v, line: start });
    } else if (c === '`') {
      advance(i + 1);
      out.push({ t: 'literal', v: '', line });
      templateText();
    } else if (c === '/' && regexAllowed()) {
      let k = i + 1;
      let inClass = false;
      while (k < src.length && src[k] !== '\n') {
        const r = src[k]!;
        if (r === '\\') k++;
        else if (r === '[') inClass = true;
        else if (r === ']') inClass = false;
        else if (r === '/' && !inClass) break;
        k++;
      }
      k++;
      while (k < src.length && isWord(src[k]!)) k++;
      out.push({ t: 'literal', v: '', line });
      advance(k);
    } else if (isWord(c)) {
      let k = i;
      while (k < src.length && isWord(src[k]!)) k++;
      out.push({ t: 'word', v: src.slice(i, k), line });
      advance(k);
    } else if (c === '}' && templates.length > 0 && templates[templates.length - 1] === braces - 1) {
      templates.pop();
      braces--;
      advance(i + 1);
      templateText();
    } else {
      if (c === '{') braces++;
      else if (c === '}') braces--;
      out.push({ t: 'punct', v: c, line });
      advance(i + 1);
    }
  }
  return out;
}

/** Every module specifier `src` names, in order. */
export function importsOf(src: string): ImportRef[] {
  const toks = tokenize(src);
  const out: ImportRef[] = [];
  const is = (k: number, t: Tok['t'], v?: string): boolean => {
    const tok = toks[k];
    return tok !== undefined && tok.t === t && (v === undefined || tok.v === v);
  };
  const record = (k: number): void => {
    const tok = toks[k]!;
    out.push({ specifier: tok.v, line: tok.line });
  };
  /** From k, records the `from '…'` (or `= require('…')`) that ends an import or export clause; false if none does. */
  const fromClause = (k: number): boolean => {
    for (; k < toks.length; k++) {
      if (is(k, 'punct', ';') || is(k, 'str')) return false;
      if (is(k, 'word', 'from') && is(k + 1, 'str')) {
        record(k + 1);
        return true;
      }
      if (is(k, 'punct', '=') && is(k + 1, 'word', 'require') && is(k + 2, 'punct', '(') && is(k + 3, 'str')) {
        record(k + 3);
        return true;
      }
    }
    return false;
  };
  /** An import this scanner cannot read: reported with an empty specifier rather than missed. */
  const unreadable = (k: number): void => {
    out.push({ specifier: '', line: toks[k]!.line });
  };

  for (let k = 0; k < toks.length; k++) {
    if (is(k - 1, 'punct', '.')) continue; // a property named import or export
    if (is(k, 'word', 'import')) {
      if (is(k + 1, 'punct', '(')) {
        if (is(k + 2, 'str') && is(k + 3, 'punct', ')')) record(k + 2);
        else unreadable(k); // a computed specifier
      } else if (is(k + 1, 'str')) record(k + 1);
      else if (!is(k + 1, 'punct', '.') && !fromClause(k + 1)) unreadable(k); // import.meta is not an import
    } else if (is(k, 'word', 'export')) {
      let j = k + 1;
      if (is(j, 'word', 'type')) j++;
      if (is(j, 'punct', '*')) {
        if (!fromClause(j)) unreadable(k);
      } else if (is(j, 'punct', '{')) {
        while (j < toks.length && !is(j, 'punct', '}')) j++;
        if (is(j + 1, 'word', 'from') && is(j + 2, 'str')) record(j + 2);
      }
    }
  }
  return out;
}

/** Every .ts file under dir, as paths relative to root with `/` separators, sorted. */
export function sourceFiles(root: string, dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(relative(root, p).split(sep).join('/'));
    }
  };
  walk(join(root, dir));
  return out.sort();
}

/**
 * The repository path (relative to root, `/` separators) a relative specifier names, as
 * NodeNext resolution maps it back to source: `./x.js` is `./x.ts`; null when no such file exists.
 */
export function resolveRelative(root: string, fromFile: string, specifier: string): string | null {
  const base = join(dirname(join(root, fromFile)), specifier);
  const candidates = [base.replace(/\.js$/, '.ts'), base.replace(/\.js$/, '.tsx'), base, `${base}.ts`, join(base, 'index.ts')];
  for (const c of candidates) {
    if (existsSync(c) && statSync(c).isFile()) return relative(root, c).split(sep).join('/');
  }
  return null;
}
