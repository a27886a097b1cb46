// Tempo's legacy `tags` search (`service.name=cart http.url="/a b"`, logfmt) as a
// TraceQL query: each tag must hold somewhere in the trace (spanset `&&`), and holds
// when a span or resource attribute of that name contains the value, ignoring case.
// A value that reads as a number or boolean also matches an attribute of that type.
// A few names mean intrinsics, as in Tempo: name, status.code, error, root.name,
// root.service.name.
import type { FieldExpr, PipelineExpr, SpansetExpr, StatusValue } from '../traceql/ast.js';

export function parseLogfmt(text: string): Array<[string, string]> | { error: string } {
  const out: Array<[string, string]> = [];
  let i = 0;
  const n = text.length;
  while (i < n) {
    while (i < n && /\s/.test(text[i]!)) i++;
    if (i >= n) break;
    const keyStart = i;
    while (i < n && text[i] !== '=' && !/\s/.test(text[i]!)) i++;
    const key = text.slice(keyStart, i);
    if (key === '') return { error: `invalid tags ${JSON.stringify(text)}: expected key=value at character ${keyStart + 1}` };
    if (text[i] !== '=') {
      out.push([key, '']);
      continue;
    }
    i++;
    let value = '';
    if (text[i] === '"') {
      i++;
      let closed = false;
      while (i < n) {
        const c = text[i]!;
        if (c === '\\' && i + 1 < n) {
          value += text[i + 1];
          i += 2;
        } else if (c === '"') {
          i++;
          closed = true;
          break;
        } else {
          value += c;
          i++;
        }
      }
      if (!closed) return { error: `invalid tags ${JSON.stringify(text)}: unterminated quoted value for ${key}` };
    } else {
      const start = i;
      while (i < n && !/\s/.test(text[i]!)) i++;
      value = text.slice(start, i);
    }
    out.push([key, value]);
  }
  return out;
}

function escapeRegex(s: string): string {
  return s.replace(/[\\^$.*+?()[\]{}|]/g, '\\$&');
}

function contains(field: FieldExpr, value: string): FieldExpr {
  return { type: 'binary', op: '=~', lhs: field, rhs: { type: 'static', valueType: 'string', value: `(?i).*${escapeRegex(value)}.*` } };
}

function or(a: FieldExpr, b: FieldExpr): FieldExpr {
  return { type: 'binary', op: '||', lhs: a, rhs: b };
}

function tagCondition(key: string, value: string): FieldExpr | { error: string } {
  switch (key) {
    case 'name':
      return contains({ type: 'intrinsic', name: 'name' }, value);
    case 'root.name':
      return contains({ type: 'intrinsic', name: 'rootName' }, value);
    case 'root.service.name':
      return contains({ type: 'intrinsic', name: 'rootServiceName' }, value);
    case 'status.code': {
      const v = value.toLowerCase().replace(/^status_code_/, '');
      if (v !== 'error' && v !== 'ok' && v !== 'unset') return { error: `invalid tags: status.code must be error, ok or unset, got ${JSON.stringify(value)}` };
      return { type: 'binary', op: '=', lhs: { type: 'intrinsic', name: 'status' }, rhs: { type: 'static', valueType: 'status', value: v as StatusValue } };
    }
    case 'error':
      if (value.toLowerCase() === 'true') {
        return { type: 'binary', op: '=', lhs: { type: 'intrinsic', name: 'status' }, rhs: { type: 'static', valueType: 'status', value: 'error' } };
      }
      break;
  }
  const attr: FieldExpr = { type: 'attribute', scope: 'none', parent: false, name: key };
  if (value === '') return { type: 'binary', op: '!=', lhs: attr, rhs: { type: 'static', valueType: 'nil' } };
  let cond = contains(attr, value);
  if (/^-?\d+$/.test(value)) cond = or(cond, { type: 'binary', op: '=', lhs: attr, rhs: { type: 'static', valueType: 'int', value: BigInt(value) } });
  else if (/^-?(\d+\.\d*|\.\d+)([eE][-+]?\d+)?$/.test(value)) cond = or(cond, { type: 'binary', op: '=', lhs: attr, rhs: { type: 'static', valueType: 'float', value: Number(value) } });
  const lower = value.toLowerCase();
  if (lower === 'true' || lower === 'false') cond = or(cond, { type: 'binary', op: '=', lhs: attr, rhs: { type: 'static', valueType: 'bool', value: lower === 'true' } });
  return cond;
}

/** The query a `tags` parameter stands for; `{}` when it holds no tags. */
export function tagsToQuery(tags: string): PipelineExpr | { error: string } {
  const pairs = parseLogfmt(tags);
  if ('error' in pairs) return pairs;
  let expr: SpansetExpr | undefined;
  for (const [key, value] of pairs) {
    const cond = tagCondition(key, value);
    if ('error' in cond) return cond;
    const filter: SpansetExpr = { type: 'spansetFilter', expr: cond };
    expr = expr ? { type: 'spansetOperation', op: '&&', lhs: expr, rhs: filter } : filter;
  }
  return { type: 'pipeline', stages: [expr ?? { type: 'spansetFilter', expr: null }] };
}
