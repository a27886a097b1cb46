// Recursive-descent parser for TraceQL. Two precedence-climbing layers:
//  - field expressions inside `{ }`, aggregates and by(), built straight into the typed AST;
//  - the query layer (pipelines, spanset operators, scalar filters, metrics math), built
//    into a loose tree that shape.ts then turns into the typed AST, so a misplaced
//    construct (`{} | rate() + 5`) is reported at the operator that breaks it.
//
// Precedence, lowest first, is Tempo's: `|`; `&& ||` (one level, left-associative);
// comparisons and structural operators; `+ -`; unary `!`; `* / %`; `^` (right-associative).
// Unary `-` binds like binary `-`: `-a * b` is `-(a * b)`, `-a + b` is `(-a) + b`.
//
// Every later stage (shaping, validation, printing, planning, evaluation) walks the tree
// recursively, so the parser bounds how deep a tree can be: MAX_TRACEQL_DEPTH counts
// the parser's own nesting (brackets, unary operators, function arguments) plus the
// height of what it builds (a chain `a && b && c` is a tree as tall as it is long).
// A query past it, or longer than MAX_TRACEQL_LENGTH, is refused (kind `limit`) instead
// of overflowing the stack.

import type {
  Aggregate,
  AggregateFn,
  AttributeRef,
  FieldBinaryOp,
  FieldExpr,
  Hint,
  Intrinsic,
  MetricsAggregate,
  MetricsFn,
  NumericStatic,
  PipelineStage,
  Pos,
  RootExpr,
  SpansetFilter,
  Static,
} from './ast.js';
import { TraceQLError } from './errors.js';
import { tokenize, type Token } from './lexer.js';
import { at, positionOf } from './positions.js';
import { COMPARISONS, STRUCTURAL, shapeQuery, type Loose } from './shape.js';

const BARE_INTRINSICS: Record<string, Intrinsic> = {
  duration: 'duration',
  name: 'name',
  status: 'status',
  statusMessage: 'statusMessage',
  kind: 'kind',
  childCount: 'childCount',
  parent: 'parent',
  rootName: 'rootName',
  rootServiceName: 'rootServiceName',
  traceDuration: 'traceDuration',
  nestedSetLeft: 'nestedSetLeft',
  nestedSetRight: 'nestedSetRight',
  nestedSetParent: 'nestedSetParent',
};

const SCOPED_INTRINSICS: Record<string, Intrinsic> = {
  'trace:duration': 'traceDuration',
  'trace:rootName': 'rootName',
  'trace:rootService': 'rootServiceName',
  'trace:id': 'trace:id',
  'span:duration': 'duration',
  'span:name': 'name',
  'span:kind': 'kind',
  'span:status': 'status',
  'span:statusMessage': 'statusMessage',
  'span:childCount': 'childCount',
  'span:id': 'span:id',
  'span:parentID': 'span:parentID',
  'event:name': 'event:name',
  'event:timeSinceStart': 'event:timeSinceStart',
  'link:traceID': 'link:traceID',
  'link:spanID': 'link:spanID',
  'instrumentation:name': 'instrumentation:name',
  'instrumentation:version': 'instrumentation:version',
};

const STATUS_WORDS = new Set(['error', 'ok', 'unset']);
const KIND_WORDS = new Set(['unspecified', 'internal', 'server', 'client', 'producer', 'consumer']);
const AGGREGATES = new Set<string>(['count', 'avg', 'min', 'max', 'sum']);
const METRICS_NO_ARG = new Set<string>(['rate', 'count_over_time']);
const METRICS_ATTR = new Set<string>(['min_over_time', 'max_over_time', 'avg_over_time', 'sum_over_time', 'histogram_over_time']);

interface OpInfo {
  level: number;
  right?: boolean;
}

const FIELD_OPS: Record<string, OpInfo> = {
  '&&': { level: 2 },
  '||': { level: 2 },
  '=': { level: 3 },
  '!=': { level: 3 },
  '<': { level: 3 },
  '<=': { level: 3 },
  '>': { level: 3 },
  '>=': { level: 3 },
  '=~': { level: 3 },
  '!~': { level: 3 },
  '+': { level: 4 },
  '-': { level: 4 },
  '*': { level: 6 },
  '/': { level: 6 },
  '%': { level: 6 },
  '^': { level: 7, right: true },
};
const UNARY_MINUS_OPERAND = 5;
const UNARY_NOT_OPERAND = 6;


const QUERY_OPS: Record<string, OpInfo> = {
  '|': { level: 1 },
  '&&': { level: 2 },
  '||': { level: 2 },
  ...Object.fromEntries([...STRUCTURAL, ...COMPARISONS].map((op) => [op, { level: 3 }])),
  '+': { level: 4 },
  '-': { level: 4 },
  '*': { level: 6 },
  '/': { level: 6 },
  '%': { level: 6 },
  '^': { level: 7, right: true },
};

function describe(t: Token): string {
  switch (t.kind) {
    case 'eof':
      return 'end of query';
    case 'string':
      return `string ${JSON.stringify(t.value)}`;
    case 'attribute':
      return `attribute '${t.text}'`;
    default:
      return `'${t.text}'`;
  }
}

/** Deepest query accepted; deep enough for any query a person or a query builder writes. */
export const MAX_TRACEQL_DEPTH = 1000;
/** Longest query accepted, in characters (HTTP requests are already bounded by the 16 KiB URL limit). */
export const MAX_TRACEQL_LENGTH = 64 * 1024;

export function parseQuery(text: string): RootExpr {
  if (text.length > MAX_TRACEQL_LENGTH) {
    throw new TraceQLError('limit', 1, 1, `the query is ${text.length} characters long; at most ${MAX_TRACEQL_LENGTH} are accepted`);
  }
  return new Parser(tokenize(text)).parseRoot();
}

class Parser {
  private i = 0;
  /** How many parseField/parseQuery calls are open. */
  private depth = 0;
  /** Height of each composite node built so far (a leaf is 1). */
  private readonly heights = new WeakMap<object, number>();

  constructor(private readonly toks: Token[]) {}

  // ---------- token helpers ----------

  private peek(k = 0): Token {
    return this.toks[Math.min(this.i + k, this.toks.length - 1)]!;
  }

  private take(): Token {
    const t = this.peek();
    if (t.kind !== 'eof') this.i++;
    return t;
  }

  private isPunct(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'punct' && t.text === text;
  }

  private isIdent(text: string, k = 0): boolean {
    const t = this.peek(k);
    return t.kind === 'ident' && t.text === text;
  }

  private fail(t: Token | Pos, detail: string): never {
    throw new TraceQLError('parse', t.line, t.col, detail);
  }

  private expected(what: string, t: Token = this.peek()): never {
    this.fail(t, `expected ${what}, found ${describe(t)}`);
  }

  private expectPunct(text: string): Token {
    if (!this.isPunct(text)) this.expected(`'${text}'`);
    return this.take();
  }

  private pos(t: Token): Pos {
    return { line: t.line, col: t.col };
  }

  // ---------- depth ----------

  private tooDeep(t: Token | Pos): never {
    throw new TraceQLError(
      'limit',
      t.line,
      t.col,
      `the query nests deeper than ${MAX_TRACEQL_DEPTH} levels (brackets, operators and functions each count); split or simplify it`,
    );
  }

  /** One more level of the parser's recursion, entered at t. */
  private enter(t: Token): void {
    if (++this.depth > MAX_TRACEQL_DEPTH) this.tooDeep(t);
  }

  private heightOf(node: object | null): number {
    return node === null ? 0 : (this.heights.get(node) ?? 1);
  }

  /** Records that `node` sits above `children`; fails when the tree would grow too deep where it is built. */
  private nest<T extends object>(node: T, pos: Token | Pos, ...children: Array<object | null>): T {
    let tallest = 0;
    for (const c of children) tallest = Math.max(tallest, this.heightOf(c));
    return this.withHeight(node, pos, tallest + 1);
  }

  private withHeight<T extends object>(node: T, pos: Token | Pos, height: number): T {
    if (this.depth + height > MAX_TRACEQL_DEPTH) this.tooDeep(pos);
    this.heights.set(node, height);
    return node;
  }

  // ---------- root ----------

  parseRoot(): RootExpr {
    if (this.peek().kind === 'eof') this.expected('a query');
    const loose = this.parseQuery(0);
    const query = shapeQuery(loose);
    const hints: Hint[] = [];
    if (this.isIdent('with')) {
      this.take();
      this.expectPunct('(');
      do {
        const nameTok = this.take();
        if (nameTok.kind !== 'ident') this.expected('a hint name', nameTok);
        this.expectPunct('=');
        hints.push(at({ name: nameTok.text, value: this.parseHintValue() }, this.pos(nameTok)));
      } while (this.isPunct(',') && this.take());
      this.expectPunct(')');
    }
    if (this.peek().kind !== 'eof') this.expected('end of query');
    return { type: 'root', query, hints };
  }

  private parseHintValue(): Static {
    const t = this.peek();
    if (t.kind === 'punct' && t.text === '-') {
      this.take();
      const n = this.peek();
      if (n.kind !== 'int' && n.kind !== 'float' && n.kind !== 'duration') this.expected('a number after \'-\'', n);
      return negate(this.numberStatic(this.take()));
    }
    if (t.kind === 'string' || t.kind === 'int' || t.kind === 'float' || t.kind === 'duration') {
      return this.staticFrom(this.take());
    }
    if (t.kind === 'ident' && (t.text === 'true' || t.text === 'false')) {
      this.take();
      return { type: 'static', valueType: 'bool', value: t.text === 'true' };
    }
    this.expected('a hint value (string, number, duration, true or false)');
  }

  // ---------- field expressions ----------

  private parseField(minLevel: number): FieldExpr {
    this.enter(this.peek());
    let lhs = this.parseFieldPrefix();
    for (;;) {
      const t = this.peek();
      const info = t.kind === 'punct' ? FIELD_OPS[t.text] : undefined;
      if (!info || info.level < minLevel) break;
      this.take();
      const rhs = this.parseField(info.right ? info.level : info.level + 1);
      lhs = this.nest(makeFieldBinary(t.text as FieldBinaryOp, lhs, rhs, this.pos(t)), t, lhs, rhs);
    }
    this.depth--;
    return lhs;
  }

  private parseFieldPrefix(): FieldExpr {
    const t = this.peek();
    switch (t.kind) {
      case 'punct':
        if (t.text === '(') {
          this.take();
          const e = this.parseField(0);
          this.expectPunct(')');
          return e;
        }
        if (t.text === '-' || t.text === '!') {
          this.take();
          const operand = this.parseField(t.text === '-' ? UNARY_MINUS_OPERAND : UNARY_NOT_OPERAND);
          if (t.text === '-' && isNumericStatic(operand)) return negate(operand);
          return this.nest(at({ type: 'unary', op: t.text, expr: operand }, this.pos(t)), t, operand);
        }
        break;
      case 'string':
      case 'int':
      case 'float':
      case 'duration':
        return at(this.staticFrom(this.take()), this.pos(t));
      case 'attribute':
        this.take();
        return at({ type: 'attribute', scope: t.scope, parent: t.parent, name: t.name }, this.pos(t));
      case 'scopedIntrinsic':
        return this.parseAttributeRef();
      case 'ident': {
        const w = t.text;
        if (w === 'true' || w === 'false') {
          this.take();
          return at({ type: 'static', valueType: 'bool', value: w === 'true' }, this.pos(t));
        }
        if (w === 'nil') {
          this.take();
          return at({ type: 'static', valueType: 'nil' }, this.pos(t));
        }
        if (STATUS_WORDS.has(w)) {
          this.take();
          return at({ type: 'static', valueType: 'status', value: w as 'error' }, this.pos(t));
        }
        if (KIND_WORDS.has(w)) {
          this.take();
          return at({ type: 'static', valueType: 'kind', value: w as 'client' }, this.pos(t));
        }
        if (w in BARE_INTRINSICS) return this.parseAttributeRef();
        this.fail(
          t,
          `unknown identifier '${w}': attributes need a scope (.${w}, span.${w}, resource.${w}, …) and strings need quotes`,
        );
      }
      // falls through for eof etc.
    }
    this.expected('a field expression (attribute, intrinsic or value)');
  }

  private staticFrom(t: Token): Static {
    if (t.kind === 'string') return { type: 'static', valueType: 'string', value: t.value };
    return this.numberStatic(t);
  }

  private numberStatic(t: Token): NumericStatic {
    if (t.kind === 'int') return { type: 'static', valueType: 'int', value: t.value };
    if (t.kind === 'float') return { type: 'static', valueType: 'float', value: t.value };
    if (t.kind === 'duration') return { type: 'static', valueType: 'duration', nanos: t.nanos };
    this.expected('a number', t);
  }

  /** An attribute, a bare intrinsic or a colon-scoped intrinsic (select(), by(…) of metrics, *_over_time). */
  private parseAttributeRef(): AttributeRef {
    const t = this.peek();
    if (t.kind === 'attribute') {
      this.take();
      return at({ type: 'attribute', scope: t.scope, parent: t.parent, name: t.name }, this.pos(t));
    }
    if (t.kind === 'ident' && t.text in BARE_INTRINSICS) {
      this.take();
      return at({ type: 'intrinsic', name: BARE_INTRINSICS[t.text]! }, this.pos(t));
    }
    if (t.kind === 'scopedIntrinsic') {
      const name = SCOPED_INTRINSICS[t.text];
      if (!name) {
        const scope = t.text.split(':')[0]!;
        const known = Object.keys(SCOPED_INTRINSICS).filter((k) => k.startsWith(`${scope}:`));
        this.fail(t, `unknown intrinsic '${t.text}' (${scope}: has ${known.join(', ')})`);
      }
      this.take();
      return at({ type: 'intrinsic', name }, this.pos(t));
    }
    this.expected('an attribute or intrinsic');
  }

  private parseAttributeList(): AttributeRef[] {
    const out = [this.parseAttributeRef()];
    while (this.isPunct(',')) {
      this.take();
      out.push(this.parseAttributeRef());
    }
    return out;
  }

  private parseSpansetFilter(): SpansetFilter {
    const open = this.expectPunct('{');
    if (this.isPunct('}')) {
      this.take();
      return at({ type: 'spansetFilter', expr: null }, this.pos(open));
    }
    const expr = this.parseField(0);
    this.expectPunct('}');
    return this.nest(at({ type: 'spansetFilter', expr }, this.pos(open)), open, expr);
  }

  // ---------- query layer ----------

  private parseQuery(minLevel: number): Loose {
    this.enter(this.peek());
    let lhs = this.parseQueryPrefix();
    for (;;) {
      const t = this.peek();
      const info = t.kind === 'punct' ? QUERY_OPS[t.text] : undefined;
      if (!info || info.level < minLevel) break;
      this.take();
      const rhs = this.parseQuery(info.right ? info.level : info.level + 1);
      if (t.text === '|') {
        // Stages are a list, walked in a loop: a pipeline is one level above its deepest stage.
        // The list this loop built is extended in place (copying it made long pipelines quadratic).
        const pipe = lhs.k === 'pipe' ? lhs : this.nest<Loose & { k: 'pipe' }>({ k: 'pipe', stages: [lhs], pos: lhs.pos }, t, lhs);
        pipe.stages.push(rhs);
        lhs = this.withHeight(pipe, t, Math.max(this.heightOf(pipe), this.heightOf(rhs) + 1));
      } else {
        lhs = this.nest({ k: 'bin', op: t.text, lhs, rhs, pos: this.pos(t) }, t, lhs, rhs);
      }
    }
    this.depth--;
    return lhs;
  }

  private parseQueryPrefix(): Loose {
    const t = this.peek();
    const pos = this.pos(t);
    if (t.kind === 'punct') {
      if (t.text === '{') {
        const node = this.parseSpansetFilter();
        return this.nest({ k: 'filter', node, pos }, t, node);
      }
      if (t.text === '(') {
        this.take();
        const inner = this.parseQuery(0);
        this.expectPunct(')');
        return this.nest({ k: 'paren', inner, pos }, t, inner);
      }
      if (t.text === '-') {
        this.take();
        const n = this.peek();
        if (n.kind !== 'int' && n.kind !== 'float' && n.kind !== 'duration') this.expected("a number after '-'", n);
        return { k: 'num', node: at(negate(this.numberStatic(this.take())), pos), pos };
      }
    }
    if (t.kind === 'int' || t.kind === 'float' || t.kind === 'duration') {
      return { k: 'num', node: at(this.numberStatic(this.take()), pos), pos };
    }
    if (t.kind === 'ident' && this.isPunct('(', 1)) return this.parseCall();
    if (t.kind === 'ident' && (AGGREGATES.has(t.text) || isFunctionWord(t.text))) {
      this.take();
      this.expected(`'(' after '${t.text}'`);
    }
    if (t.kind === 'ident') {
      this.fail(t, `unexpected '${t.text}': expected a spanset filter '{ … }', a number, an aggregate, by(), select() or '('`);
    }
    this.expected("a spanset filter '{ … }', a number, an aggregate or '('");
  }

  private parseCall(): Loose {
    const nameTok = this.take();
    const pos = this.pos(nameTok);
    const name = nameTok.text;
    this.expectPunct('(');
    if (AGGREGATES.has(name)) {
      let expr: FieldExpr | null = null;
      if (name !== 'count') {
        if (this.isPunct(')')) this.expected(`a field expression: ${name}() needs an argument, e.g. ${name}(duration)`);
        expr = this.parseField(0);
      }
      this.expectPunct(')');
      const node: Aggregate = this.nest(at({ type: 'aggregate', fn: name as AggregateFn, expr }, pos), pos, expr);
      return this.nest({ k: 'agg', node, pos }, pos, node);
    }
    switch (name) {
      case 'by': {
        if (this.isPunct(')')) this.expected('a field expression: by() needs an argument, e.g. by(resource.service.name)');
        const expr = this.parseField(0);
        this.expectPunct(')');
        const node: PipelineStage = this.nest(at({ type: 'groupBy', expr }, pos), pos, expr);
        return this.nest({ k: 'stage', node, pos }, pos, node);
      }
      case 'select': {
        if (this.isPunct(')')) this.expected('an attribute or intrinsic: select() needs at least one');
        const attrs = this.parseAttributeList();
        this.expectPunct(')');
        return { k: 'stage', node: at({ type: 'select', attrs }, pos), pos };
      }
      case 'coalesce':
        this.expectPunct(')');
        return { k: 'stage', node: at({ type: 'coalesce' }, pos), pos };
      case 'topk':
      case 'bottomk': {
        const n = this.peek();
        if (n.kind !== 'int') this.expected(`a positive integer in ${name}()`);
        this.take();
        this.expectPunct(')');
        return { k: 'topk', node: at({ type: name, limit: n.value }, pos), pos };
      }
    }
    if (METRICS_NO_ARG.has(name) || METRICS_ATTR.has(name) || name === 'quantile_over_time' || name === 'compare') {
      const node = at(this.parseMetricsArgs(name as MetricsFn), pos);
      this.nest(node, pos, node.compare?.filter ?? null);
      return this.nest({ k: 'metrics', node, pos }, pos, node);
    }
    this.fail(nameTok, `unknown function '${name}'`);
  }

  /** After `fn(`: the arguments, `)` and an optional `by (…)`. */
  private parseMetricsArgs(fn: MetricsFn): MetricsAggregate {
    const agg: MetricsAggregate = { type: 'metricsAggregate', fn, attr: null, quantiles: null, by: [], compare: null };
    if (METRICS_ATTR.has(fn) || fn === 'quantile_over_time') {
      if (this.isPunct(')')) this.expected(`an attribute: ${fn}() needs one, e.g. ${fn}(duration)`);
      agg.attr = this.parseAttributeRef();
    }
    if (fn === 'quantile_over_time') {
      if (!this.isPunct(',')) this.expected("',' and the quantiles, e.g. quantile_over_time(duration, .5, .99)");
      const qs: number[] = [];
      while (this.isPunct(',')) {
        this.take();
        const q = this.peek();
        if (q.kind === 'int') qs.push(Number(q.value));
        else if (q.kind === 'float') qs.push(q.value);
        else this.expected('a quantile between 0 and 1');
        this.take();
      }
      agg.quantiles = qs;
    }
    if (fn === 'compare') {
      const filter = this.parseSpansetFilter();
      const ints: bigint[] = [];
      while (this.isPunct(',')) {
        this.take();
        const n = this.peek();
        if (n.kind !== 'int') this.expected('an integer');
        ints.push(n.value);
        this.take();
      }
      if (ints.length === 2 || ints.length > 3) {
        this.fail(this.peek(), 'compare() takes a filter, then optionally topN, or topN, start and end');
      }
      agg.compare = { filter, topN: ints[0] ?? 10n, start: ints[1] ?? 0n, end: ints[2] ?? 0n };
    }
    this.expectPunct(')');
    if (this.isIdent('by') && this.isPunct('(', 1)) {
      this.take();
      this.take();
      if (this.isPunct(')')) this.expected('an attribute or intrinsic: by() needs at least one');
      agg.by = this.parseAttributeList();
      this.expectPunct(')');
    }
    return agg;
  }
}

function isFunctionWord(w: string): boolean {
  return (
    ['by', 'select', 'coalesce', 'topk', 'bottomk', 'quantile_over_time', 'compare'].includes(w) ||
    METRICS_NO_ARG.has(w) ||
    METRICS_ATTR.has(w)
  );
}

function isNumericStatic(e: FieldExpr): e is NumericStatic {
  return e.type === 'static' && (e.valueType === 'int' || e.valueType === 'float' || e.valueType === 'duration');
}

function negate(s: NumericStatic): NumericStatic {
  const out: NumericStatic =
    s.valueType === 'int'
      ? { type: 'static', valueType: 'int', value: -s.value }
      : s.valueType === 'float'
        ? { type: 'static', valueType: 'float', value: -s.value }
        : { type: 'static', valueType: 'duration', nanos: -s.nanos };
  const p = positionOf(s);
  return p ? at(out, p) : out;
}

function makeFieldBinary(op: FieldBinaryOp, lhs: FieldExpr, rhs: FieldExpr, pos: Pos): FieldExpr {
  const isNil = (e: FieldExpr): boolean => e.type === 'static' && e.valueType === 'nil';
  // Tempo folds these to false: nil is never equal, nor unequal, to nil.
  if ((op === '=' || op === '!=') && isNil(lhs) && isNil(rhs)) {
    return at({ type: 'static', valueType: 'bool', value: false }, pos);
  }
  return at({ type: 'binary', op, lhs, rhs }, pos);
}
