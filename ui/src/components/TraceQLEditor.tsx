// A TraceQL editor: a transparent textarea over a highlighted copy of its text,
// the parser's error marked where it happened (the same parser the server runs,
// so an error shows before the query is sent), and autocomplete of scopes, tag
// names and values from the tag endpoints.
import { useEffect, useMemo, useRef, useState, type KeyboardEvent, type ReactNode } from 'react';
import { parseQuery, validateTraceQL, TraceQLError } from '../../../src/query/traceql/index';
import { getJson, tagValues, type TagScopes } from '../api';

export interface QueryProblem {
  line: number;
  col: number;
  message: string;
}

/** The parser's (or validator's) complaint about `text`, with its position; undefined when it is good TraceQL. */
export function checkTraceQL(text: string): QueryProblem | undefined {
  if (text.trim() === '') return undefined;
  try {
    validateTraceQL(parseQuery(text));
    return undefined;
  } catch (err) {
    if (err instanceof TraceQLError) return { line: err.line, col: err.col, message: err.message };
    return { line: 1, col: 1, message: String(err) };
  }
}

/** A server error such as `parse error at line 1, col 9: …` as a positioned problem. */
export function problemFromServer(message: string): QueryProblem | undefined {
  const m = /at line (\d+), col (\d+)/.exec(message);
  return m ? { line: Number(m[1]), col: Number(m[2]), message } : undefined;
}

const KEYWORDS = new Set([
  'true', 'false', 'nil', 'by', 'select', 'coalesce', 'count', 'avg', 'min', 'max', 'sum', 'with',
  'rate', 'count_over_time', 'min_over_time', 'max_over_time', 'avg_over_time', 'sum_over_time',
  'quantile_over_time', 'histogram_over_time', 'compare', 'topk', 'bottomk',
]);
const INTRINSICS = ['name', 'status', 'statusMessage', 'kind', 'duration', 'rootName', 'rootServiceName', 'traceDuration', 'span:name', 'span:status', 'span:kind', 'span:duration', 'trace:duration', 'trace:rootName', 'trace:rootService', 'event:name', 'link:traceID', 'instrumentation:name'];
const STATUS_VALUES = ['ok', 'error', 'unset'];
const KIND_VALUES = ['server', 'client', 'producer', 'consumer', 'internal', 'unspecified'];
const SCOPES = ['span.', 'resource.', 'event.', 'link.', 'instrumentation.', '.'];

const TOKEN_RE =
  /("(?:[^"\\]|\\.)*"?|`[^`]*`?)|(\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h|d)?\b)|((?:span|resource|event|link|instrumentation|parent)?\.[^\s{}()=~!<>&|^,]*|(?:span|trace|event|link|instrumentation):[A-Za-z]+)|([A-Za-z_][A-Za-z0-9_]*)|(&&|\|\||!=|=~|!~|>=|<=|>>|<<|[=<>!~{}()|&+\-*/%^,])/gu;

interface Tok {
  text: string;
  cls: string;
  start: number;
}

function tokens(text: string): Tok[] {
  const out: Tok[] = [];
  let last = 0;
  for (const m of text.matchAll(TOKEN_RE)) {
    const i = m.index ?? 0;
    if (i > last) out.push({ text: text.slice(last, i), cls: '', start: last });
    let cls = 'tok-op';
    if (m[1]) cls = 'tok-str';
    else if (m[2]) cls = 'tok-num';
    else if (m[3]) cls = 'tok-attr';
    else if (m[4]) cls = KEYWORDS.has(m[4]) ? 'tok-kw' : INTRINSICS.includes(m[4]) || STATUS_VALUES.includes(m[4]) || KIND_VALUES.includes(m[4]) ? 'tok-attr' : '';
    out.push({ text: m[0], cls, start: i });
    last = i + m[0].length;
  }
  if (last < text.length) out.push({ text: text.slice(last), cls: '', start: last });
  return out;
}

function offsetOf(text: string, line: number, col: number): number {
  let off = 0;
  for (let l = 1; l < line; l++) {
    const nl = text.indexOf('\n', off);
    if (nl === -1) return text.length;
    off = nl + 1;
  }
  return Math.min(text.length, off + col - 1);
}

function highlight(text: string, problem: QueryProblem | undefined): ReactNode[] {
  const errAt = problem ? offsetOf(text, problem.line, problem.col) : -1;
  const nodes: ReactNode[] = [];
  for (const t of tokens(text)) {
    const end = t.start + t.text.length;
    if (errAt >= t.start && errAt < end) {
      const a = errAt - t.start;
      nodes.push(
        <span key={t.start} className={t.cls}>
          {t.text.slice(0, a)}
          <span className="tok-err" data-testid="tql-error-mark">
            {t.text.slice(a, a + 1)}
          </span>
          {t.text.slice(a + 1)}
        </span>,
      );
    } else nodes.push(t.cls ? <span key={t.start} className={t.cls}>{t.text}</span> : t.text);
  }
  // An error at the very end (an unclosed brace) gets a visible mark past the text.
  if (errAt >= text.length && problem) nodes.push(<span key="eof" className="tok-err" data-testid="tql-error-mark">{' '}</span>);
  // A trailing newline needs a character after it or the overlay is a line short.
  nodes.push('\n');
  return nodes;
}

interface Suggestion {
  label: string;
  insert: string;
  detail?: string;
}

interface Context {
  /** Where the word being completed starts and ends. */
  from: number;
  to: number;
  word: string;
  /** Completing a value for this attribute (after `attr op`). */
  valueFor?: string;
}

function contextAt(text: string, caret: number): Context {
  const before = text.slice(0, caret);
  const valueMatch = /((?:span|resource|event|link|instrumentation)?\.[^\s{}()=~!<>&|^,]+|[A-Za-z:]+)\s*(=|!=|=~|!~|>=|<=|>|<)\s*("?[^"]*)$/.exec(before);
  if (valueMatch && !/"$/.test(valueMatch[3]!.slice(1)) ) {
    const word = valueMatch[3]!;
    return { from: caret - word.length, to: caret, word, valueFor: valueMatch[1]! };
  }
  const w = /[A-Za-z0-9_.:\-]*$/.exec(before)?.[0] ?? '';
  return { from: caret - w.length, to: caret, word: w };
}

export function TraceQLEditor(props: {
  value: string;
  onChange: (v: string) => void;
  onSubmit: () => void;
  serverProblem?: QueryProblem | undefined;
}) {
  const { value, onChange, onSubmit } = props;
  const ta = useRef<HTMLTextAreaElement>(null);
  const [scopes, setScopes] = useState<TagScopes['scopes']>([]);
  const [suggestions, setSuggestions] = useState<Suggestion[]>([]);
  const [active, setActive] = useState(0);
  const [ctx, setCtx] = useState<Context | undefined>();
  const [localProblem, setLocalProblem] = useState<QueryProblem | undefined>();
  // One request per attribute, shared by every keystroke that arrives while it is in flight.
  const valueCache = useRef(new Map<string, Promise<Suggestion[]>>());
  // Only the newest keystroke's suggestions are shown: an older lookup that answers late is dropped.
  const refreshSeq = useRef(0);

  useEffect(() => {
    getJson<TagScopes>('/api/v2/search/tags')
      .then((r) => setScopes(r.scopes ?? []))
      .catch(() => setScopes([]));
  }, []);

  // Parse as the user types (cheap: the parser is linear), so the error moves with the text.
  useEffect(() => {
    const t = setTimeout(() => setLocalProblem(checkTraceQL(value)), 120);
    return () => clearTimeout(t);
  }, [value]);

  const problem = localProblem ?? props.serverProblem;
  const highlighted = useMemo(() => highlight(value, problem), [value, problem]);

  const nameSuggestions = (word: string): Suggestion[] => {
    const out: Suggestion[] = [];
    for (const s of SCOPES) out.push({ label: s, insert: s, detail: 'scope' });
    for (const i of INTRINSICS) out.push({ label: i, insert: i, detail: 'intrinsic' });
    for (const sc of scopes) {
      if (sc.name === 'intrinsic') continue;
      for (const t of sc.tags) out.push({ label: `${sc.name}.${t}`, insert: `${sc.name}.${t}`, detail: sc.name });
    }
    if (word.startsWith('.')) {
      for (const sc of scopes) if (sc.name === 'span' || sc.name === 'resource') for (const t of sc.tags) out.push({ label: `.${t}`, insert: `.${t}`, detail: `${sc.name} or span` });
    }
    if (word === '') out.unshift({ label: '{ }', insert: '{ }', detail: 'spanset' });
    const lw = word.toLowerCase();
    const seen = new Set<string>();
    return out.filter((s) => s.label.toLowerCase().startsWith(lw) && s.label !== word && !seen.has(s.label) && seen.add(s.label)).slice(0, 50);
  };

  const refresh = async (text: string, caret: number, force = false): Promise<void> => {
    const seq = ++refreshSeq.current;
    const c = contextAt(text, caret);
    setCtx(c);
    setActive(0);
    if (c.valueFor) {
      const attr = c.valueFor;
      const quoted = c.word.startsWith('"');
      const partial = c.word.replace(/^"/, '').toLowerCase();
      let list: Suggestion[] | undefined;
      if (attr === 'status' || attr === 'span:status') list = STATUS_VALUES.map((v) => ({ label: v, insert: v }));
      else if (attr === 'kind' || attr === 'span:kind') list = KIND_VALUES.map((v) => ({ label: v, insert: v }));
      else {
        let pending = valueCache.current.get(attr);
        if (!pending) {
          pending = tagValues(attr).then(
            (values) => values.map((v) => ({
              label: v.value,
              insert: v.type === 'string' ? JSON.stringify(v.value) : v.value,
              detail: v.type,
            })),
            () => [],
          );
          valueCache.current.set(attr, pending);
        }
        list = await pending;
        if (seq !== refreshSeq.current) return;
      }
      setSuggestions(list.filter((s) => s.label.toLowerCase().startsWith(partial) && (quoted || s.label !== c.word)).slice(0, 50));
      return;
    }
    if (c.word === '' && !force) {
      setSuggestions([]);
      return;
    }
    setSuggestions(nameSuggestions(c.word));
  };

  const accept = (s: Suggestion): void => {
    if (!ctx) return;
    const next = value.slice(0, ctx.from) + s.insert + value.slice(ctx.to);
    const caret = ctx.from + (s.insert === '{ }' ? 2 : s.insert.length);
    onChange(next);
    setSuggestions([]);
    requestAnimationFrame(() => {
      ta.current?.focus();
      ta.current?.setSelectionRange(caret, caret);
    });
  };

  const onKeyDown = (e: KeyboardEvent<HTMLTextAreaElement>): void => {
    if (suggestions.length > 0) {
      if (e.key === 'ArrowDown') {
        e.preventDefault();
        setActive((a) => (a + 1) % suggestions.length);
        return;
      }
      if (e.key === 'ArrowUp') {
        e.preventDefault();
        setActive((a) => (a - 1 + suggestions.length) % suggestions.length);
        return;
      }
      if (e.key === 'Tab' || (e.key === 'Enter' && !e.shiftKey && !e.ctrlKey && !e.metaKey)) {
        e.preventDefault();
        accept(suggestions[active]!);
        return;
      }
      if (e.key === 'Escape') {
        setSuggestions([]);
        return;
      }
    }
    if (e.key === ' ' && e.ctrlKey) {
      e.preventDefault();
      void refresh(value, e.currentTarget.selectionStart, true);
      return;
    }
    if (e.key === 'Enter' && !e.shiftKey) {
      e.preventDefault();
      setSuggestions([]);
      onSubmit();
    }
  };

  return (
    <div>
      <div className={`tql${problem ? ' has-error' : ''}`}>
        <pre aria-hidden="true" data-testid="tql-highlight">
          {highlighted}
        </pre>
        <textarea
          ref={ta}
          value={value}
          spellCheck={false}
          aria-label="TraceQL query"
          data-testid="traceql-input"
          placeholder='{ resource.service.name = "frontend" && status = error }'
          onChange={(e) => {
            onChange(e.target.value);
            void refresh(e.target.value, e.target.selectionStart);
          }}
          onKeyDown={onKeyDown}
          onBlur={() => setTimeout(() => setSuggestions([]), 150)}
        />
        {suggestions.length > 0 && (
          <div className="suggest" role="listbox" data-testid="tql-suggestions">
            {suggestions.map((s, i) => (
              <div
                key={s.label + i}
                role="option"
                aria-selected={i === active}
                className={i === active ? 'on' : ''}
                onMouseDown={(e) => {
                  e.preventDefault();
                  accept(s);
                }}
              >
                <span>{s.label}</span>
                {s.detail && <small>{s.detail}</small>}
              </div>
            ))}
          </div>
        )}
      </div>
      {problem && (
        <div className="tql-error" data-testid="tql-error">
          {problem.message}
        </div>
      )}
    </div>
  );
}
