// Recursive-descent parser for TraceQL. Two precedence-climbing layers:
//  - field expressions inside `{ }`, aggregates and by();
//  - the query layer (pipelines, spanset operators, scalar filters, metrics math).
// The query layer is parsed into a loose tree first and then shaped into the typed AST,
// so a misplaced construct (`{} | rate() + 5`) is reported at the operator that breaks it.
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
  ArithOp,
  AttributeRef,
  ComparisonOp,
  ConstExpr,
  FieldBinaryOp,
  FieldExpr,
  Hint,
  Intrinsic,
  MetricsAggregate,
  MetricsExpr,
  MetricsFn,
  MetricsPipeline,
  MetricsQuery,
  NumericStatic,
  Pipeline,
  PipelineExpr,
  PipelineStage,
  Pos,
  RootExpr,
  ScalarExpr,
  ScalarPipelineExpr,
  ScalarPipelineFilter,
  SecondStage,
  SpansetExpr,
  SpansetFilter,
  SpansetOp,
  Static,
  TopK,
} from './ast.js';
import { TraceQLError } from './errors.js';
import { tokenize, type Token } from './lexer.js';

const positions = new WeakMap<object, Pos>();

/** Where a node parsed by parseTraceQL began (binary nodes: their operator). */
export function positionOf(node: object): Pos | undefined {
  return positions.get(node);
}

function at<T extends object>(node: T, pos: Pos): T {
  positions.set(node, pos);
  return node;
}

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

const STRUCTURAL = ['>', '<', '>>', '<<', '~', '!>', '!<', '!>>', '!<<', '!~', '&>', '&<', '&>>', '&<<', '&~'];
const COMPARISONS = ['=', '!=', '<', '<=', '>', '>='];

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

// ---------- the loose query-layer tree ----------

type Loose =
  | { k: 'filter'; node: SpansetFilter; pos: Pos }
  | { k: 'paren'; inner: Loose; pos: Pos }
  | { k: 'bin'; op: string; lhs: Loose; rhs: Loose; pos: Pos }
  | { k: 'pipe'; stages: Loose[]; pos: Pos }
  | { k: 'agg'; node: Aggregate; pos: Pos }
  | { k: 'stage'; node: PipelineStage; pos: Pos } // by(), select(), coalesce()
  | { k: 'metrics'; node: MetricsAggregate; pos: Pos }
  | { k: 'topk'; node: TopK; pos: Pos }
  | { k: 'num'; node: NumericStatic; pos: Pos };

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
    const query = normalize(shapeRoot(loose));
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
  const p = positions.get(s);
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

// ---------- shaping the loose tree into the typed AST ----------

/**
 * One metrics pipeline keeps all its second-stage functions itself, however it was
 * parenthesised: `({} | rate()) | topk(5)` and `{} | rate() | topk(5)` are the same query.
 */
function normalize(q: RootExpr['query']): RootExpr['query'] {
  if (q.type === 'metricsQuery' && q.expr.type === 'metricsPipeline' && q.secondStage.length > 0) {
    const p = positions.get(q.expr);
    const expr: MetricsPipeline = { ...q.expr, secondStage: [...q.expr.secondStage, ...q.secondStage] };
    return { type: 'metricsQuery', expr: p ? at(expr, p) : expr, secondStage: [] };
  }
  return q;
}

function fail(pos: Pos, detail: string): never {
  throw new TraceQLError('parse', pos.line, pos.col, detail);
}

function unparen(n: Loose): Loose {
  while (n.k === 'paren') n = n.inner;
  return n;
}

function containsMetrics(n: Loose): boolean {
  switch (n.k) {
    case 'metrics':
      return true;
    case 'paren':
      return containsMetrics(n.inner);
    case 'bin':
      return containsMetrics(n.lhs) || containsMetrics(n.rhs);
    case 'pipe':
      return n.stages.some(containsMetrics);
    default:
      return false;
  }
}

/** A parenthesised pipeline ending in an aggregate, or arithmetic over such. */
function isScalarPipeline(n: Loose): boolean {
  if (n.k === 'paren') {
    const inner = n.inner;
    if (inner.k === 'pipe') return unparen(inner.stages[inner.stages.length - 1]!).k === 'agg';
    return isScalarPipeline(inner);
  }
  return n.k === 'bin' && isArith(n.op) && (isScalarPipeline(n.lhs) || isScalarPipeline(n.rhs));
}

const isArith = (op: string): op is ArithOp => ['+', '-', '*', '/', '%', '^'].includes(op);
const isComparison = (op: string): op is ComparisonOp => COMPARISONS.includes(op);
const isSpansetOp = (op: string): op is SpansetOp => op === '&&' || op === '||' || STRUCTURAL.includes(op);

/** The first element of a chain like `rate() > 10 > 5` or `topk(5) > 10`. */
function headOf(n: Loose): Loose {
  while (n.k === 'bin' && isComparison(n.op)) n = n.lhs;
  return n;
}

function shapeRoot(n: Loose): RootExpr['query'] {
  if (n.k === 'pipe') {
    const first = n.stages[0]!;
    if (containsMetrics(first)) {
      // `({} | rate()) + ({} | rate()) | topk(5)`: a metrics expression, then second-stage functions.
      const q = shapeMetricsStage(first);
      for (const s of n.stages.slice(1)) q.secondStage.push(...shapeSecondStage(s));
      return q;
    }
    const mIdx = n.stages.findIndex((s) => headOf(s).k === 'metrics');
    if (mIdx > 0) {
      return { type: 'metricsQuery', expr: shapeUnwrappedMetrics(n.stages, mIdx), secondStage: [] };
    }
    const topk = n.stages.find((s) => headOf(s).k === 'topk');
    if (topk) fail(topk.pos, 'topk() and bottomk() must follow a metrics function such as rate()');
    return shapePipeline(n);
  }
  if (containsMetrics(n)) return shapeMetricsStage(n);
  if (n.k === 'bin' && isComparison(n.op) && (isScalarPipeline(n.lhs) || isScalarPipeline(n.rhs))) {
    return shapeScalarPipelineFilter(n);
  }
  if (isScalarPipeline(n)) {
    fail(n.pos, 'a scalar pipeline must be compared with a value, e.g. ({ … } | count()) > 3');
  }
  if (n.k === 'paren' || (n.k === 'bin' && isSpansetOp(n.op) && !isPlainSpansetExpr(n) && !isScalarComparison(n))) {
    return shapePipelineExpr(n);
  }
  return shapePipeline(n);
}

/** `>` and `<` are both comparisons and structural operators: numbers and aggregates make them comparisons. */
function isScalarComparison(n: Loose & { k: 'bin' }): boolean {
  const scalarish = (x: Loose): boolean => {
    const u = unparen(x);
    return u.k === 'agg' || u.k === 'num' || (u.k === 'bin' && isArith(u.op));
  };
  return isComparison(n.op) && (scalarish(n.lhs) || scalarish(n.rhs));
}

function isPlainSpansetExpr(n: Loose): boolean {
  if (n.k === 'filter') return true;
  if (n.k === 'paren') return isPlainSpansetExpr(n.inner);
  return n.k === 'bin' && isSpansetOp(n.op) && isPlainSpansetExpr(n.lhs) && isPlainSpansetExpr(n.rhs);
}

function shapePipelineExpr(n: Loose): PipelineExpr {
  if (n.k === 'bin' && isSpansetOp(n.op)) {
    if (isPlainSpansetExpr(n)) return shapePipeline(n);
    return at({ type: 'pipelineOperation', op: n.op, lhs: shapePipelineExpr(n.lhs), rhs: shapePipelineExpr(n.rhs) }, n.pos);
  }
  if (n.k === 'paren') return shapePipelineExpr(n.inner);
  return shapePipeline(n);
}

function shapePipeline(n: Loose): Pipeline {
  const stages = n.k === 'pipe' ? n.stages : [n];
  if (stages[0]!.k === 'stage' && stages[0]!.node.type === 'coalesce') {
    fail(stages[0]!.pos, 'a pipeline cannot start with coalesce()');
  }
  return at({ type: 'pipeline', stages: stages.map(shapeStage) }, n.pos);
}

function shapeStage(n: Loose): PipelineStage {
  switch (n.k) {
    case 'filter':
      return n.node;
    case 'stage':
      return n.node;
    case 'agg':
      fail(n.pos, `an aggregate must be compared with a value, e.g. ${n.node.fn}(${n.node.fn === 'count' ? '' : '…'}) > 3`);
    case 'metrics':
      fail(n.pos, `${n.node.fn}() must be the last function of a pipeline (followed only by topk/bottomk or a comparison)`);
    case 'topk':
      fail(n.pos, 'topk() and bottomk() must follow a metrics function such as rate()');
    case 'num':
      fail(n.pos, "expected a spanset filter '{ … }', an aggregate comparison, by(), select() or coalesce()");
    case 'pipe':
      fail(n.pos, 'a parenthesised pipeline cannot be a pipeline stage');
    case 'paren': {
      if (isPlainSpansetExpr(n)) return shapeSpansetExpr(n);
      const inner = unparen(n);
      if (inner.k === 'bin' && isComparison(inner.op) && !isPlainSpansetExpr(inner)) return shapeStage(inner);
      if (inner.k === 'pipe') fail(n.pos, 'a parenthesised pipeline cannot be a pipeline stage');
      return shapeStage(inner);
    }
    case 'bin': {
      if (containsMetrics(n)) {
        fail(n.pos, `'${n.op}' cannot be applied to a metrics function here; wrap the metrics pipeline in parentheses, e.g. ({ … } | rate()) ${n.op} 2`);
      }
      if (isPlainSpansetExpr(n)) return shapeSpansetExpr(n);
      if (isComparison(n.op) && (isPlainSpansetExpr(n.lhs) || isPlainSpansetExpr(n.rhs))) {
        if (isPlainSpansetExpr(n.lhs) && isPlainSpansetExpr(n.rhs)) {
          fail(n.pos, `'${n.op}' cannot combine spansets; use && || or a structural operator (> < >> << ~ and their ! and & forms)`);
        }
        fail(n.pos, `'${n.op}' cannot compare a spanset with a value; compare an aggregate instead, e.g. { … } | count() ${n.op} 3`);
      }
      if (isComparison(n.op)) return shapeScalarFilter(n);
      if (isSpansetOp(n.op)) {
        const bad = isPlainSpansetExpr(n.lhs) ? n.rhs : n.lhs;
        fail(bad.pos, `'${n.op}' joins spanset filters; this operand is not one`);
      }
      fail(n.pos, `'${n.op}' cannot be applied here: arithmetic is allowed inside '{ }' and between aggregates in a comparison`);
    }
  }
}

function shapeSpansetExpr(n: Loose): SpansetExpr {
  if (n.k === 'filter') return n.node;
  if (n.k === 'paren') return shapeSpansetExpr(n.inner);
  if (n.k === 'bin' && isSpansetOp(n.op)) {
    return at({ type: 'spansetOperation', op: n.op, lhs: shapeSpansetExpr(n.lhs), rhs: shapeSpansetExpr(n.rhs) }, n.pos);
  }
  fail(n.pos, "expected a spanset filter '{ … }'");
}

function shapeScalarFilter(n: Loose & { k: 'bin' }): PipelineStage {
  const op = n.op as ComparisonOp;
  const lhs = shapeScalarExpr(n.lhs);
  const rhs = shapeScalarExpr(n.rhs);
  const hasAgg = (e: ScalarExpr): boolean =>
    e.type === 'aggregate' || (e.type === 'scalarOperation' && (hasAgg(e.lhs) || hasAgg(e.rhs)));
  if (!hasAgg(lhs) && !hasAgg(rhs)) {
    fail(n.pos, `a comparison in a pipeline needs an aggregate such as count() or avg(duration) on one side`);
  }
  return at({ type: 'scalarFilter', op, lhs, rhs }, n.pos);
}

function shapeScalarExpr(n: Loose): ScalarExpr {
  switch (n.k) {
    case 'agg':
      return n.node;
    case 'num':
      return n.node;
    case 'paren':
      return shapeScalarExpr(n.inner);
    case 'bin':
      if (isArith(n.op)) {
        return at({ type: 'scalarOperation', op: n.op, lhs: shapeScalarExpr(n.lhs), rhs: shapeScalarExpr(n.rhs) }, n.pos);
      }
      fail(n.pos, `'${n.op}' cannot be used inside a scalar expression (aggregates and numbers with + - * / % ^)`);
    default:
      fail(n.pos, 'expected an aggregate (count(), avg(…), min(…), max(…), sum(…)) or a number');
  }
}

function shapeScalarPipelineFilter(n: Loose & { k: 'bin' }): ScalarPipelineFilter {
  const lhs = shapeScalarPipelineExpr(n.lhs, 'the left side of a comparison of scalar pipelines');
  const r = unparen(n.rhs);
  const rhs = r.k === 'num' ? r.node : shapeScalarPipelineExpr(n.rhs, 'a number or a parenthesised scalar pipeline');
  return at({ type: 'scalarPipelineFilter', op: n.op as ComparisonOp, lhs, rhs }, n.pos);
}

function shapeScalarPipelineExpr(n: Loose, role: string): ScalarPipelineExpr {
  if (n.k === 'paren') {
    const inner = n.inner;
    if (inner.k === 'pipe') {
      const last = unparen(inner.stages[inner.stages.length - 1]!);
      if (last.k !== 'agg') fail(last.pos, 'expected an aggregate at the end of a scalar pipeline');
      const pipeline = shapePipeline({ k: 'pipe', stages: inner.stages.slice(0, -1), pos: inner.pos });
      return at({ type: 'scalarPipeline', pipeline, aggregate: last.node }, n.pos);
    }
    return shapeScalarPipelineExpr(inner, role);
  }
  if (n.k === 'bin' && isArith(n.op)) {
    return at(
      { type: 'scalarPipelineOperation', op: n.op, lhs: shapeScalarPipelineExpr(n.lhs, role), rhs: shapeScalarPipelineExpr(n.rhs, role) },
      n.pos,
    );
  }
  fail(n.pos, `expected a parenthesised pipeline ending in an aggregate, e.g. ({ … } | count()), as ${role}`);
}

// ---------- metrics ----------

/** `{ … } | … | rate() by (…) > 3 | topk(5)`: stages before the metrics function, the function, then second stages. */
function shapeUnwrappedMetrics(stages: Loose[], mIdx: number): MetricsPipeline {
  const pipeline = shapePipeline({ k: 'pipe', stages: stages.slice(0, mIdx), pos: stages[0]!.pos });
  const m = stages[mIdx]!;
  const aggregate = (headOf(m) as Loose & { k: 'metrics' }).node;
  const secondStage = filtersOf(m);
  for (const s of stages.slice(mIdx + 1)) secondStage.push(...shapeSecondStage(s));
  return at({ type: 'metricsPipeline', pipeline, aggregate, secondStage }, stages[0]!.pos);
}

/** The comparisons chained after a head: `rate() > 1 < 5` gives [> 1, < 5]. */
function filtersOf(n: Loose): SecondStage[] {
  if (n.k === 'bin' && isComparison(n.op)) {
    return [...filtersOf(n.lhs), at({ type: 'metricsFilter', op: n.op, value: shapeConst(n.rhs, true) }, n.pos)];
  }
  return [];
}

function shapeSecondStage(n: Loose): SecondStage[] {
  const head = headOf(n);
  if (head.k !== 'topk') {
    if (head.k === 'metrics') fail(head.pos, 'only one metrics function is allowed in a pipeline; combine pipelines with ({ … } | rate()) + ({ … } | rate())');
    fail(head.pos, 'after a metrics function only topk(), bottomk() and comparisons may follow');
  }
  return [head.node, ...filtersOf(n)];
}

/** Constant arithmetic: `1 / 2`, `-3`; a duration only as the whole value of a comparison. */
function shapeConst(n: Loose, durationAllowed: boolean): ConstExpr {
  const inner = unparen(n);
  if (inner.k === 'num') {
    if (inner.node.valueType === 'duration' && !(durationAllowed && n.k !== 'paren')) {
      fail(inner.pos, 'durations cannot be used in arithmetic on metrics; compare with a plain duration or a number');
    }
    return inner.node;
  }
  if (inner.k === 'bin' && (inner.op === '+' || inner.op === '-' || inner.op === '*' || inner.op === '/')) {
    return at({ type: 'constOperation', op: inner.op, lhs: shapeConst(inner.lhs, false), rhs: shapeConst(inner.rhs, false) }, inner.pos);
  }
  if (inner.k === 'bin') fail(inner.pos, `'${inner.op}' is not allowed in a metrics comparison; use + - * /`);
  fail(inner.pos, 'expected a number');
}

/** A metrics query given as one expression: wrapped pipelines, math, and comparisons. */
function shapeMetricsStage(n: Loose): MetricsQuery {
  if (n.k === 'bin' && isComparison(n.op)) {
    const q = shapeMetricsStage(n.lhs);
    q.secondStage.push(at({ type: 'metricsFilter', op: n.op, value: shapeConst(n.rhs, true) }, n.pos));
    return q;
  }
  if (n.k === 'pipe') {
    // `(({} | rate()) | topk(3))` and the like: rare, but a pipe inside parentheses at the top.
    const r = shapeRoot(n);
    if (r.type !== 'metricsQuery') fail(n.pos, 'expected a metrics query');
    return r;
  }
  return { type: 'metricsQuery', expr: shapeMetricsExpr(n), secondStage: [] };
}

function shapeMetricsExpr(n: Loose): MetricsExpr {
  switch (n.k) {
    case 'num':
      if (n.node.valueType === 'duration') fail(n.pos, 'durations cannot be used in arithmetic on metrics');
      return n.node;
    case 'bin':
      if (n.op === '+' || n.op === '-' || n.op === '*' || n.op === '/') {
        return at({ type: 'metricsMath', op: n.op, lhs: shapeMetricsExpr(n.lhs), rhs: shapeMetricsExpr(n.rhs) }, n.pos);
      }
      if (isComparison(n.op)) {
        fail(n.pos, `a comparison inside metrics arithmetic must be wrapped with its pipeline, e.g. ({ … } | rate() ${n.op} 1) * 2`);
      }
      fail(n.pos, `'${n.op}' cannot combine metrics queries; use + - * /`);
    case 'paren': {
      const inner = n.inner;
      if (inner.k === 'pipe') {
        const mIdx = inner.stages.findIndex((s) => headOf(s).k === 'metrics');
        if (mIdx <= 0) {
          if (containsMetrics(inner)) {
            const q = shapeRoot(inner);
            if (q.type === 'metricsQuery') return wrapQuery(q, n.pos);
          }
          fail(n.pos, 'expected a metrics pipeline such as ({ … } | rate())');
        }
        return shapeUnwrappedMetrics(inner.stages, mIdx);
      }
      if (inner.k === 'bin' && isComparison(inner.op) && containsMetrics(inner)) {
        return wrapQuery(shapeMetricsStage(inner), n.pos);
      }
      return shapeMetricsExpr(inner);
    }
    case 'metrics':
      fail(n.pos, `${n.node.fn}() needs a spanset pipeline before it, e.g. { } | ${n.node.fn}(…)`);
    default:
      fail(n.pos, 'expected a parenthesised metrics pipeline such as ({ … } | rate()) or a number');
  }
}

/** A parenthesised metrics query used as an operand of math: its second stage travels with it. */
function wrapQuery(q: MetricsQuery, pos: Pos): MetricsExpr {
  if (q.secondStage.length === 0) return q.expr;
  if (q.expr.type === 'metricsPipeline') {
    return at({ ...q.expr, secondStage: [...q.expr.secondStage, ...q.secondStage] }, pos);
  }
  fail(pos, 'topk(), bottomk() and comparisons inside parentheses apply to a single metrics pipeline only');
}
