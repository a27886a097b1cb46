// A span's status and kind as TraceQL names them. No imports, on purpose: the TraceQL
// AST uses these, and the web UI type-checks the AST in a browser build without Node's
// types, so nothing reachable from here may reach src/otlp/model.ts (it uses Buffer).

export type StatusValue = 'error' | 'ok' | 'unset';
export type KindValue = 'unspecified' | 'internal' | 'server' | 'client' | 'producer' | 'consumer';
