// Some spans of an OTLP batch, kept under their own resource and scope objects
// (shared with the original batch, not copied).
import type { ResourceSpans, ScopeSpans, Span } from '../../../otlp/model.js';

export class BatchSubset {
  readonly batch: ResourceSpans[] = [];
  spanCount = 0;
  private lastResourceSpans: ResourceSpans | undefined;
  private lastScopeSpans: ScopeSpans | undefined;
  private currentResource: ResourceSpans | undefined;
  private currentScope: ScopeSpans | undefined;

  /** Adds a span; spans added in the batch's own order regroup under the same resource and scope. */
  add(rs: ResourceSpans, ss: ScopeSpans, span: Span): void {
    if (rs !== this.lastResourceSpans || !this.currentResource) {
      this.currentResource = { resource: rs.resource, schemaUrl: rs.schemaUrl, scopeSpans: [] };
      this.batch.push(this.currentResource);
      this.lastResourceSpans = rs;
      this.lastScopeSpans = undefined;
    }
    if (ss !== this.lastScopeSpans || !this.currentScope) {
      this.currentScope = { scope: ss.scope, schemaUrl: ss.schemaUrl, spans: [] };
      this.currentResource.scopeSpans.push(this.currentScope);
      this.lastScopeSpans = ss;
    }
    this.currentScope.spans.push(span);
    this.spanCount++;
  }
}
