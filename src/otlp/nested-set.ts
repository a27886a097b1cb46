// Nested set numbers of the spans of one trace, numbered as Tempo numbers them
// (vparquet's nested set model), so structural TraceQL (`>>`, `>`, `~`) becomes
// integer comparisons: B descends from A iff A.left < B.left and B.right < A.right;
// B is A's child iff B.parent = A.left.
//
// A depth-first walk from each root in turn hands out one counter: a span gets
// `left` on the way down and `right` on the way up, and `parent` is its parent's
// `left` (-1 for a root). Roots and siblings are visited in the order given (the
// writer sorts spans by start time). Spans not reachable from a root (orphans whose
// parent is missing, and their descendants) keep 0, 0, 0: their place is unknown,
// which is different from being a root.

export interface NestedSet {
  left: number;
  right: number;
  parent: number;
}

export const ROOT_PARENT = -1;

export interface TreeSpan {
  /** Hex span ID, unique within the trace. */
  spanId: string;
  /** Hex parent span ID; '' (or all zeros) for a root. */
  parentSpanId: string;
}

const ZEROS_RE = /^0+$/;

export function isRootParent(parentSpanId: string): boolean {
  return parentSpanId === '' || ZEROS_RE.test(parentSpanId);
}

/** Nested set numbers for `spans`, index for index. */
export function computeNestedSets(spans: readonly TreeSpan[]): NestedSet[] {
  const out: NestedSet[] = spans.map(() => ({ left: 0, right: 0, parent: 0 }));
  const indexById = new Map<string, number>();
  spans.forEach((s, i) => {
    if (!indexById.has(s.spanId)) indexById.set(s.spanId, i);
  });

  const children: number[][] = spans.map(() => []);
  const roots: number[] = [];
  spans.forEach((s, i) => {
    if (isRootParent(s.parentSpanId)) {
      roots.push(i);
      return;
    }
    const parent = indexById.get(s.parentSpanId);
    // A span naming itself as parent is as lost as one whose parent is missing.
    if (parent !== undefined && parent !== i) children[parent]!.push(i);
  });

  // Every node has at most one parent and roots have none, so the walk from the
  // roots is a tree walk even when the parent links elsewhere form a cycle.
  let bound = 1;
  for (const root of roots) {
    out[root] = { left: bound++, right: 0, parent: ROOT_PARENT };
    const stack: Array<{ node: number; next: number }> = [{ node: root, next: 0 }];
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const kids = children[top.node]!;
      if (top.next < kids.length) {
        const child = kids[top.next++]!;
        out[child] = { left: bound++, right: 0, parent: out[top.node]!.left };
        stack.push({ node: child, next: 0 });
      } else {
        out[top.node]!.right = bound++;
        stack.pop();
      }
    }
  }
  return out;
}
