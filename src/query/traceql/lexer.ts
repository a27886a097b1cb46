import type { AttributeScope } from './ast.js';
import { TraceQLError } from './errors.js';

export type Token =
  | (TokenBase & { kind: 'ident' })
  | (TokenBase & { kind: 'punct' })
  | (TokenBase & { kind: 'string'; value: string })
  | (TokenBase & { kind: 'int'; value: bigint })
  | (TokenBase & { kind: 'float'; value: number })
  | (TokenBase & { kind: 'duration'; nanos: bigint })
  | (TokenBase & { kind: 'attribute'; scope: AttributeScope; parent: boolean; name: string })
  | (TokenBase & { kind: 'scopedIntrinsic' })
  | (TokenBase & { kind: 'eof' });

interface TokenBase {
  /** identifier name, operator, or the source text of the token */
  text: string;
  line: number;
  col: number;
}

// Longest first, so `!>>` wins over `!>` and `!`.
const PUNCTUATION = [
  '!>>', '!<<', '&>>', '&<<',
  '&&', '||', '!=', '=~', '!~', '>=', '<=', '>>', '<<', '!>', '!<', '&>', '&<', '&~',
  '{', '}', '(', ')', ',', '=', '<', '>', '+', '-', '*', '/', '%', '^', '!', '|', '~',
];

const SCOPES: Record<string, AttributeScope> = {
  span: 'span',
  resource: 'resource',
  event: 'event',
  link: 'link',
  instrumentation: 'instrumentation',
};

const COLON_SCOPES = new Set(['span', 'trace', 'event', 'link', 'instrumentation']);

const INT64_MAX = (1n << 63n) - 1n;

// Units of Prometheus durations (d, w, y) and Go durations (ns, us, µs), as Tempo accepts both.
const DURATION_UNITS: Record<string, bigint> = {
  ns: 1n,
  us: 1_000n,
  'µs': 1_000n,
  'μs': 1_000n,
  ms: 1_000_000n,
  s: 1_000_000_000n,
  m: 60_000_000_000n,
  h: 3_600_000_000_000n,
  d: 86_400_000_000_000n,
  w: 604_800_000_000_000n,
  y: 31_536_000_000_000_000n,
};

/** The characters that end an unquoted attribute name, as in Tempo's lexer. */
export function isAttributeChar(c: string): boolean {
  return !/[\s{}()=~!<>&|^,]/u.test(c);
}

function isIdentStart(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z_]/.test(c);
}
function isIdentChar(c: string | undefined): boolean {
  return c !== undefined && /[A-Za-z0-9_]/.test(c);
}
function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

export function tokenize(text: string): Token[] {
  return new Lexer(text).run();
}

class Lexer {
  private i = 0;
  private line = 1;
  private col = 1;
  private readonly out: Token[] = [];

  constructor(private readonly src: string) {}

  run(): Token[] {
    for (;;) {
      this.skipSpace();
      if (this.i >= this.src.length) {
        this.out.push({ kind: 'eof', text: '', line: this.line, col: this.col });
        return this.out;
      }
      this.next();
    }
  }

  private err(line: number, col: number, detail: string): never {
    throw new TraceQLError('parse', line, col, detail);
  }

  private peek(k = 0): string | undefined {
    return this.src[this.i + k];
  }

  private advance(n = 1): void {
    for (let k = 0; k < n; k++) {
      if (this.src[this.i] === '\n') {
        this.line++;
        this.col = 1;
      } else {
        this.col++;
      }
      this.i++;
    }
  }

  private skipSpace(): void {
    while (this.i < this.src.length && /\s/u.test(this.src[this.i]!)) this.advance();
  }

  private next(): void {
    const line = this.line;
    const col = this.col;
    const c = this.peek()!;

    if (c === '"' || c === '`') {
      const value = this.readString();
      this.out.push({ kind: 'string', value, text: value, line, col });
      return;
    }
    if (isDigit(c) || (c === '.' && isDigit(this.peek(1)))) {
      this.readNumber(line, col);
      return;
    }
    if (c === '.') {
      this.advance();
      this.readAttribute('none', false, line, col);
      return;
    }
    if (isIdentStart(c)) {
      let word = '';
      while (isIdentChar(this.peek())) {
        word += this.peek();
        this.advance();
      }
      if (this.peek() === '.' && (word === 'parent' || word in SCOPES)) {
        this.advance();
        if (word === 'parent') {
          // parent.span.x and parent.resource.x carry both a parent flag and a scope.
          const rest = this.src.slice(this.i);
          const m = /^(span|resource)\./.exec(rest);
          if (m) {
            this.advance(m[0].length);
            this.readAttribute(SCOPES[m[1]!]!, true, line, col);
          } else {
            this.readAttribute('none', true, line, col);
          }
        } else {
          this.readAttribute(SCOPES[word]!, false, line, col);
        }
        return;
      }
      if (this.peek() === ':' && COLON_SCOPES.has(word) && isIdentStart(this.peek(1))) {
        this.advance();
        let name = '';
        while (isIdentChar(this.peek())) {
          name += this.peek();
          this.advance();
        }
        this.out.push({ kind: 'scopedIntrinsic', text: `${word}:${name}`, line, col });
        return;
      }
      this.out.push({ kind: 'ident', text: word, line, col });
      return;
    }
    for (const p of PUNCTUATION) {
      if (this.src.startsWith(p, this.i)) {
        this.advance(p.length);
        this.out.push({ kind: 'punct', text: p, line, col });
        return;
      }
    }
    this.err(line, col, `unexpected character ${JSON.stringify(c)}`);
  }

  /** After the scope prefix: an unquoted run of attribute characters, or a quoted name. */
  private readAttribute(scope: AttributeScope, parent: boolean, line: number, col: number): void {
    const start = this.i;
    const prefix = this.src.slice(this.i - (col === this.col ? 0 : this.col - col), this.i);
    let name: string;
    if (this.peek() === '"') {
      name = this.readString();
    } else {
      name = '';
      while (this.i < this.src.length && isAttributeChar(this.peek()!)) {
        name += this.peek();
        this.advance();
      }
      if (name === '') {
        this.err(this.line, this.col, `expected an attribute name after '${prefix}'`);
      }
    }
    this.out.push({ kind: 'attribute', scope, parent, name, text: this.src.slice(start, this.i), line, col });
  }

  private readString(): string {
    const line = this.line;
    const col = this.col;
    const quote = this.peek()!;
    this.advance();
    let value = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) this.err(line, col, 'unterminated string');
      if (c === quote) {
        this.advance();
        return value;
      }
      if (c === '\\' && quote === '"') {
        value += this.readEscape();
        continue;
      }
      value += c;
      this.advance();
    }
  }

  private readEscape(): string {
    const line = this.line;
    const col = this.col;
    this.advance();
    const c = this.peek();
    const simple: Record<string, string> = {
      n: '\n', t: '\t', r: '\r', '\\': '\\', '"': '"', "'": "'", a: '\x07', b: '\b', f: '\f', v: '\v',
    };
    if (c !== undefined && c in simple) {
      this.advance();
      return simple[c]!;
    }
    const hexLen = c === 'x' ? 2 : c === 'u' ? 4 : c === 'U' ? 8 : 0;
    if (hexLen > 0) {
      const hex = this.src.slice(this.i + 1, this.i + 1 + hexLen);
      if (hex.length === hexLen && /^[0-9a-fA-F]+$/.test(hex)) {
        this.advance(1 + hexLen);
        const cp = parseInt(hex, 16);
        if (cp <= 0x10ffff) return String.fromCodePoint(cp);
      }
    }
    this.err(line, col, `invalid escape sequence '\\${c ?? ''}' in string`);
  }

  private readNumber(line: number, col: number): void {
    const m = /^(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?/.exec(this.src.slice(this.i))!;
    const numText = m[0];
    const isFloat = /[.eE]/.test(numText);
    // A number directly followed by duration units is a duration (`1.5s`, `1h30m`), as Tempo's lexer does.
    const after = /^[0-9.nsuµμmhdwy]+/u.exec(this.src.slice(this.i + numText.length));
    if (after) {
      const nanos = parseDuration(numText + after[0]);
      if (nanos !== null) {
        if (nanos > INT64_MAX) this.err(line, col, `duration ${numText + after[0]} is out of range`);
        this.advance(numText.length + after[0].length);
        this.out.push({ kind: 'duration', nanos, text: numText + after[0], line, col });
        return;
      }
    }
    this.advance(numText.length);
    if (isFloat) {
      const value = Number(numText);
      if (!Number.isFinite(value)) this.err(line, col, `number ${numText} is out of range`);
      this.out.push({ kind: 'float', value, text: numText, line, col });
    } else {
      const value = BigInt(numText);
      if (value > INT64_MAX) this.err(line, col, `integer ${numText} is out of range (max ${INT64_MAX})`);
      this.out.push({ kind: 'int', value, text: numText, line, col });
    }
  }
}

/** `1h30m`, `1.5s`, `500ms`, `2d`; null when the text is not a duration. */
export function parseDuration(text: string): bigint | null {
  const re = /(\d+(?:\.\d+)?)(ns|us|µs|μs|ms|s|m|h|d|w|y)/uy;
  let total = 0n;
  let pos = 0;
  while (pos < text.length) {
    re.lastIndex = pos;
    const m = re.exec(text);
    if (!m) return null;
    const [whole, frac = ''] = m[1]!.split('.');
    const unit = DURATION_UNITS[m[2]!]!;
    total += BigInt(whole!) * unit;
    if (frac) total += (BigInt(frac) * unit) / 10n ** BigInt(frac.length);
    pos = re.lastIndex;
  }
  return pos === 0 ? null : total;
}
