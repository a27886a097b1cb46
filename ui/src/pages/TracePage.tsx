import { useEffect, useState } from 'react';
import { getJson, type TraceByIdResponse } from '../api';

export function TracePage({ params }: { params: Record<string, string> }) {
  const id = params['id'] ?? '';
  const [data, setData] = useState<TraceByIdResponse | undefined>();
  const [error, setError] = useState('');
  useEffect(() => {
    getJson<TraceByIdResponse>(`/api/v2/traces/${encodeURIComponent(id)}`).then(setData, (e: Error) => setError(e.message));
  }, [id]);
  if (error) return <div className="page error-box">{error}</div>;
  if (!data) return <div className="loading">Loading trace…</div>;
  const spans = (data.trace.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? []));
  return (
    <div className="page" data-testid="trace-page">
      <h1>Trace {id}</h1>
      <p>{spans.length} spans</p>
    </div>
  );
}
