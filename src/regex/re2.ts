// The one regular-expression engine for patterns that come from users: TraceQL's
// `=~`/`!~` (search, metrics, tag-value `q`), redaction patterns and tail-sampling
// `string_attribute` regexes from the configuration. JavaScript's RegExp backtracks,
// so `(a+)+$` over 33 characters ran for a minute and stalled the whole process;
// RE2 matches in time linear in the text, and its syntax is what Tempo (Go's regexp)
// and DuckDB (RE2) accept, so a pattern means the same over the head as over blocks.
//
// The engine is `re2js`, a pure-JavaScript port of RE2/J kept in step with Go's
// regexp: nothing to build or download at install time (the native `re2` package
// compiles C++ with node-gyp, `re2-wasm` is unmaintained since 2021), it runs in the
// UI bundle too (the TraceQL editor checks patterns as the server does), and it
// enforces RE2's own limits (repeat counts up to 1000, nesting up to 1000).
// Skein's built-in redaction rules stay JavaScript regexes: they are ours, reviewed
// to be linear, and need lookarounds RE2 has not got.
import { RE2JS, RE2JSSyntaxException } from 're2js';

/** A compiled RE2 pattern; stateless, so one may be shared by every caller. */
export interface Re2Pattern {
  readonly source: string;
  /** Whether it matches somewhere in `text` (Go's MatchString: redaction, tail sampling). */
  test(text: string): boolean;
  /** Whether it matches all of `text` (TraceQL, as Tempo and DuckDB's regexp_full_match). */
  testWhole(text: string): boolean;
  /** `text` with each match replaced by `replace(match)`, left to right, matches not overlapping. */
  replaceAll(text: string, replace: (match: string) => string): string;
}

/** A pattern RE2 refuses; the message says what is wrong and where, without the whole pattern. */
export class Re2SyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Re2SyntaxError';
  }
}

/** Compiled patterns kept by source: queries repeat the same few, span after span. */
const CACHE_LIMIT = 1000;
const cache = new Map<string, Re2Pattern>();

/** Compiles an RE2 pattern, or throws Re2SyntaxError naming the problem. */
export function compileRe2(source: string): Re2Pattern {
  let pattern = cache.get(source);
  if (pattern === undefined) {
    pattern = new CompiledRe2(source, compile(source));
    if (cache.size >= CACHE_LIMIT) cache.clear();
    cache.set(source, pattern);
  }
  return pattern;
}

/** Why RE2 refuses a pattern, or undefined when it compiles. */
export function re2Problem(source: string): string | undefined {
  try {
    compileRe2(source);
    return undefined;
  } catch (err) {
    if (err instanceof Re2SyntaxError) return err.message;
    throw err;
  }
}

function compile(source: string): RE2JS {
  try {
    return RE2JS.compile(source);
  } catch (err) {
    if (err instanceof RE2JSSyntaxException) throw new Re2SyntaxError(describe(err.error, err.input));
    throw err;
  }
}

/**
 * RE2's own wording (Go's `error parsing regexp: …` without the prefix), plus what to
 * do for the constructs people bring from JavaScript or PCRE, which RE2 leaves out
 * because they cannot be matched in linear time.
 */
function describe(error: string, input: string | null): string {
  const at = input === null || input === '' ? '' : `: \`${input}\``;
  const hint =
    error === 'invalid escape sequence' && input !== null && /^\\[0-9]/.test(input)
      ? ' (RE2 has no backreferences)'
      : input !== null && /^\(\?<?[=!]/.test(input)
        ? ' (RE2 has no lookahead or lookbehind)'
        : '';
  return `${error}${at}${hint}`;
}

class CompiledRe2 implements Re2Pattern {
  constructor(
    readonly source: string,
    private readonly re: RE2JS,
  ) {}

  test(text: string): boolean {
    return this.re.test(text);
  }

  testWhole(text: string): boolean {
    return this.re.testExact(text);
  }

  replaceAll(text: string, replace: (match: string) => string): string {
    // The capture-free search is the fast one: most values hold no match at all.
    if (!this.re.test(text)) return text;
    const m = this.re.matcher(text);
    let out = '';
    let last = 0;
    while (m.find()) {
      const start = m.start();
      const end = m.end();
      out += text.slice(last, start) + replace(text.slice(start, end));
      last = end;
    }
    return out + text.slice(last);
  }
}
