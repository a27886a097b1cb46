// TraceQL: parse text into a typed AST, check it, and print it back.
import type { RootExpr } from './ast.js';
import { parseQuery } from './parser.js';

/** Throws TraceQLError (kind `parse`) naming the line and column of the problem. */
export function parseTraceQL(text: string): { ast: RootExpr } {
  return { ast: parseQuery(text) };
}

export { parseQuery } from './parser.js';
export { positionOf } from './positions.js';
export { validateTraceQL, impliedType, referencesSpan, INTRINSIC_TYPES, type ValueType } from './validate.js';
export { printTraceQL, printField, printStatic, printDuration, printAttributeRef } from './printer.js';
export { TraceQLError, type TraceQLErrorKind } from './errors.js';
export { tokenize, parseDuration, type Token } from './lexer.js';
export type * from './ast.js';
