// Source positions of parsed nodes, kept beside the AST instead of in it so the AST
// stays plain data that prints and compares without them. The parser and the shaper
// record them; validation reads them to point at the construct it refuses.
import type { Pos } from './ast.js';

const positions = new WeakMap<object, Pos>();

/** Where a node parsed by parseTraceQL began (binary nodes: their operator). */
export function positionOf(node: object): Pos | undefined {
  return positions.get(node);
}

/** Records where `node` began and returns it. */
export function at<T extends object>(node: T, pos: Pos): T {
  positions.set(node, pos);
  return node;
}
