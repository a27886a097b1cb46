// Canonical TraceQL text for an AST: parseTraceQL(printTraceQL(ast)) deep-equals ast.
// Parentheses are added only where precedence needs them.

import type {
  AttributeRef,
  ConstExpr,
  FieldExpr,
  Hint,
  MetricsAggregate,
  MetricsExpr,
  MetricsPipeline,
  Pipeline,
  PipelineExpr,
  PipelineStage,
  RootExpr,
  ScalarExpr,
  ScalarPipelineExpr,
  SecondStage,
  SpansetExpr,
  Static,
} from './ast.js';
import { isAttributeChar } from './lexer.js';

const LEVEL: Record<string, number> = {
  '&&': 2, '||': 2,
  '=': 3, '!=': 3, '<': 3, '<=': 3, '>': 3, '>=': 3, '=~': 3, '!~': 3,
  '>>': 3, '<<': 3, '~': 3, '!>': 3, '!<': 3, '!>>': 3, '!<<': 3, '&>': 3, '&<': 3, '&>>': 3, '&<<': 3, '&~': 3,
  '+': 4, '-': 4,
  '*': 6, '/': 6, '%': 6,
  '^': 7,
};
const UNARY_MINUS_OPERAND = 5;
const UNARY_NOT_OPERAND = 6;

export function printTraceQL(root: RootExpr): string {
  const q = root.query;
  let text: string;
  switch (q.type) {
    case 'pipeline':
    case 'pipelineOperation':
      text = printPipelineExpr(q, 0);
      break;
    case 'scalarPipelineFilter':
      text = `${printScalarPipelineExpr(q.lhs, 4)} ${q.op} ${
        q.rhs.type === 'static' ? printStatic(q.rhs) : printScalarPipelineExpr(q.rhs, 4)
      }`;
      break;
    case 'metricsQuery':
      // The parser keeps a lone pipeline's second stage inside it, so it needs parentheses only
      // when a hand-built AST also has query-level stages.
      text = printMetricsExpr(q.expr, 0, q.secondStage.length === 0) + printSecondStage(q.secondStage);
      break;
  }
  if (root.hints.length > 0) text += ` with(${root.hints.map(printHint).join(', ')})`;
  return text;
}

function printHint(h: Hint): string {
  return `${h.name}=${printStatic(h.value)}`;
}

// ---------- statics ----------

export function printStatic(s: Static): string {
  switch (s.valueType) {
    case 'string':
      return quote(s.value);
    case 'int':
      return s.value.toString();
    case 'float': {
      const t = String(s.value);
      // keep the float a float when read back
      return /[.eE]|Infinity|NaN/.test(t) ? t : `${t}.0`;
    }
    case 'bool':
      return String(s.value);
    case 'nil':
      return 'nil';
    case 'duration':
      return printDuration(s.nanos);
    case 'status':
    case 'kind':
      return s.value;
  }
}

const UNITS: [string, bigint][] = [
  ['h', 3_600_000_000_000n],
  ['m', 60_000_000_000n],
  ['s', 1_000_000_000n],
  ['ms', 1_000_000n],
  ['us', 1_000n],
];

export function printDuration(nanos: bigint): string {
  const sign = nanos < 0n ? '-' : '';
  const abs = nanos < 0n ? -nanos : nanos;
  if (abs === 0n) return '0s';
  for (const [unit, size] of UNITS) {
    if (abs % size === 0n) return `${sign}${abs / size}${unit}`;
  }
  return `${sign}${abs}ns`;
}

function quote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    if (ch === '"' || ch === '\\') out += `\\${ch}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (cp < 0x20 || cp === 0x7f) out += `\\x${cp.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return `${out}"`;
}

/** Attribute names are quoted when they hold characters that would end an unquoted name. */
function attributeName(name: string, afterParentWithoutScope: boolean): string {
  const plain =
    name !== '' &&
    !/^[0-9]/.test(name) &&
    !/["\\]/.test(name) &&
    [...name].every(isAttributeChar) &&
    !(afterParentWithoutScope && /^(span|resource)\./.test(name));
  if (plain) return name;
  // Only `"` and `\` are escaped so tabs and newlines in the name survive as they are.
  return `"${name.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

export function printAttributeRef(a: AttributeRef): string {
  if (a.type === 'intrinsic') return a.name;
  const parent = a.parent ? 'parent.' : '';
  const scope = a.scope === 'none' ? (a.parent ? '' : '.') : `${a.scope}.`;
  return `${parent}${scope}${attributeName(a.name, a.parent && a.scope === 'none')}`;
}

// ---------- field expressions ----------

function isNumericLiteral(e: FieldExpr): boolean {
  return e.type === 'static' && (e.valueType === 'int' || e.valueType === 'float' || e.valueType === 'duration');
}

function isNegativeNumber(e: FieldExpr | ScalarExpr | ConstExpr | MetricsExpr): boolean {
  if (e.type !== 'static') return false;
  if (e.valueType === 'int') return e.value < 0n;
  if (e.valueType === 'float') return e.value < 0 || Object.is(e.value, -0);
  if (e.valueType === 'duration') return e.nanos < 0n;
  return false;
}

/** minLevel: the lowest operator level that may appear unparenthesised here. */
export function printField(e: FieldExpr, minLevel = 0): string {
  switch (e.type) {
    case 'static': {
      const t = printStatic(e);
      return isNegativeNumber(e) && minLevel > 4 ? `(${t})` : t;
    }
    case 'attribute':
    case 'intrinsic':
      return printAttributeRef(e);
    case 'unary': {
      const operandMin = e.op === '-' ? UNARY_MINUS_OPERAND : UNARY_NOT_OPERAND;
      // A numeric literal under '-' would be read back as a negative literal: keep the node explicit.
      const operand = e.op === '-' && isNumericLiteral(e.expr) ? `(${printField(e.expr)})` : printField(e.expr, operandMin);
      const text = `${e.op}${operand}`;
      const ownLevel = e.op === '-' ? 4 : 5;
      return ownLevel < minLevel ? `(${text})` : text;
    }
    case 'binary': {
      const level = LEVEL[e.op]!;
      const right = e.op === '^';
      const text = `${printField(e.lhs, right ? level + 1 : level)} ${e.op} ${printField(e.rhs, right ? level : level + 1)}`;
      return level < minLevel ? `(${text})` : text;
    }
  }
}

// ---------- pipelines ----------

function printSpansetExpr(e: SpansetExpr, minLevel: number): string {
  if (e.type === 'spansetFilter') return e.expr === null ? '{ }' : `{ ${printField(e.expr)} }`;
  const level = LEVEL[e.op]!;
  const text = `${printSpansetExpr(e.lhs, level)} ${e.op} ${printSpansetExpr(e.rhs, level + 1)}`;
  return level < minLevel ? `(${text})` : text;
}

function printScalarExpr(e: ScalarExpr, minLevel: number): string {
  switch (e.type) {
    case 'aggregate':
      return `${e.fn}(${e.expr ? printField(e.expr) : ''})`;
    case 'static': {
      const t = printStatic(e);
      return isNegativeNumber(e) && minLevel > 4 ? `(${t})` : t;
    }
    case 'scalarOperation': {
      const level = LEVEL[e.op]!;
      const right = e.op === '^';
      const text = `${printScalarExpr(e.lhs, right ? level + 1 : level)} ${e.op} ${printScalarExpr(e.rhs, right ? level : level + 1)}`;
      return level < minLevel ? `(${text})` : text;
    }
  }
}

function printStage(s: PipelineStage): string {
  switch (s.type) {
    case 'spansetFilter':
    case 'spansetOperation':
      return printSpansetExpr(s, 2);
    case 'scalarFilter':
      return `${printScalarExpr(s.lhs, 4)} ${s.op} ${printScalarExpr(s.rhs, 4)}`;
    case 'groupBy':
      return `by(${printField(s.expr)})`;
    case 'select':
      return `select(${s.attrs.map(printAttributeRef).join(', ')})`;
    case 'coalesce':
      return 'coalesce()';
  }
}

function printPipeline(p: Pipeline): string {
  return p.stages.map(printStage).join(' | ');
}

function printPipelineExpr(e: PipelineExpr, minLevel: number): string {
  if (e.type === 'pipeline') {
    // Inside a pipeline operation every operand is parenthesised, as Tempo requires.
    return minLevel > 0 ? `(${printPipeline(e)})` : printPipeline(e);
  }
  const level = LEVEL[e.op]!;
  const text = `${printPipelineExpr(e.lhs, level)} ${e.op} ${printPipelineExpr(e.rhs, level + 1)}`;
  return level < minLevel ? `(${text})` : text;
}

function printScalarPipelineExpr(e: ScalarPipelineExpr, minLevel: number): string {
  if (e.type === 'scalarPipeline') {
    const agg = printScalarExpr(e.aggregate, 0);
    return `(${e.pipeline.stages.length ? `${printPipeline(e.pipeline)} | ` : ''}${agg})`;
  }
  const level = LEVEL[e.op]!;
  const right = e.op === '^';
  const text = `${printScalarPipelineExpr(e.lhs, right ? level + 1 : level)} ${e.op} ${printScalarPipelineExpr(e.rhs, right ? level : level + 1)}`;
  return level < minLevel ? `(${text})` : text;
}

// ---------- metrics ----------

function printMetricsAggregate(a: MetricsAggregate): string {
  let args = '';
  if (a.fn === 'compare' && a.compare) {
    const c = a.compare;
    args = printSpansetExpr(c.filter, 0);
    if (c.start !== 0n || c.end !== 0n) args += `, ${c.topN}, ${c.start}, ${c.end}`;
    else if (c.topN !== 10n) args += `, ${c.topN}`;
  } else if (a.attr) {
    args = printAttributeRef(a.attr);
    if (a.quantiles) args += a.quantiles.map((q) => `, ${q}`).join('');
  }
  const by = a.by.length ? ` by (${a.by.map(printAttributeRef).join(', ')})` : '';
  return `${a.fn}(${args})${by}`;
}

function printConst(e: ConstExpr, minLevel: number): string {
  if (e.type === 'static') {
    const t = printStatic(e);
    return isNegativeNumber(e) && minLevel > 4 ? `(${t})` : t;
  }
  const level = LEVEL[e.op]!;
  const text = `${printConst(e.lhs, level)} ${e.op} ${printConst(e.rhs, level + 1)}`;
  return level < minLevel ? `(${text})` : text;
}

function printSecondStage(stages: SecondStage[]): string {
  return stages
    .map((s) => (s.type === 'metricsFilter' ? ` ${s.op} ${printConst(s.value, 4)}` : ` | ${s.type}(${s.limit})`))
    .join('');
}

function printMetricsPipeline(p: MetricsPipeline): string {
  return `${printPipeline(p.pipeline)} | ${printMetricsAggregate(p.aggregate)}${printSecondStage(p.secondStage)}`;
}

function printMetricsExpr(e: MetricsExpr, minLevel: number, top = false): string {
  switch (e.type) {
    case 'metricsPipeline':
      // A lone pipeline at the top needs no parentheses unless it carries its own second stage.
      return top || (e.secondStage.length === 0 && minLevel === 0) ? printMetricsPipeline(e) : `(${printMetricsPipeline(e)})`;
    case 'metricsMath': {
      const level = LEVEL[e.op]!;
      const text = `${printMetricsExpr(e.lhs, level)} ${e.op} ${printMetricsExpr(e.rhs, level + 1)}`;
      return level < minLevel ? `(${text})` : text;
    }
    default:
      return printConst(e, minLevel);
  }
}
