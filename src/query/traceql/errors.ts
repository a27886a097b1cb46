/**
 * `parse`: the text is not TraceQL. `invalid`: it parses but makes no sense (type
 * mismatches, aggregates that do not look at spans, …). `unsupported`: valid TraceQL
 * that Tempo and Skein do not run (yet). `regex`: a regular expression RE2 refuses
 * (invalid TraceQL too, told apart because tag autocomplete, which ignores a query
 * still being typed, cannot ignore it). `limit`: longer or nested deeper than Skein
 * parses (see parser.ts).
 */
export type TraceQLErrorKind = 'parse' | 'invalid' | 'unsupported' | 'regex' | 'limit';

const PREFIX: Record<TraceQLErrorKind, string> = {
  parse: 'parse error',
  invalid: 'invalid TraceQL',
  unsupported: 'unsupported TraceQL',
  regex: 'invalid TraceQL',
  limit: 'TraceQL query too large',
};

export class TraceQLError extends Error {
  readonly kind: TraceQLErrorKind;
  readonly line: number;
  readonly col: number;
  /** the message without the position prefix */
  readonly detail: string;

  constructor(kind: TraceQLErrorKind, line: number, col: number, detail: string) {
    super(`${PREFIX[kind]} at line ${line}, col ${col}: ${detail}`);
    this.name = 'TraceQLError';
    this.kind = kind;
    this.line = line;
    this.col = col;
    this.detail = detail;
  }
}
