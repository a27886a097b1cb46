// The Parquet schema of a block: one row per span, documented column by column
// in docs/block-format.md. Changing a column's name, type or meaning is a new
// BLOCK_FORMAT.
//
// Blocks are written by DuckDB from staged NDJSON (see writer.ts). Resources and
// scopes are staged once each in files of their own and looked up by the spans
// that reference them, so each column says where it is staged; JSON has no bytes, so
// byte IDs are staged as hex and turned into BLOBs by the SELECT.

export const BLOCK_FORMAT = 'skein-parquet-v1';

/** An attribute value's `type`: the field number of its kind in OTLP's AnyValue, 0 for an empty value. */
export const ValueType = {
  EMPTY: 0,
  STRING: 1,
  BOOL: 2,
  INT: 3,
  DOUBLE: 4,
  ARRAY: 5,
  KVLIST: 6,
  BYTES: 7,
} as const;

export const ATTRS_TYPE = 'STRUCT(key VARCHAR, type UTINYINT, str VARCHAR, int BIGINT, dbl DOUBLE, bool BOOLEAN)[]';
const EVENTS_TYPE = `STRUCT(time_unix_nano UBIGINT, name VARCHAR, attrs ${ATTRS_TYPE}, dropped_attributes_count UINTEGER)[]`;
const LINK_FIELDS = (spanIdType: string): string =>
  `trace_id VARCHAR, span_id ${spanIdType}, trace_state VARCHAR, attrs ${ATTRS_TYPE}, dropped_attributes_count UINTEGER, flags UINTEGER`;

type StagedFile = 'spans' | 'resources' | 'scopes';

interface Column {
  name: string;
  /** DuckDB type in the Parquet file. */
  type: string;
  /** The staged file it comes from (default: spans). */
  from?: StagedFile;
  /** How the column is staged, when that differs from `type`. */
  staged?: { type: string; select: string };
}

export const COLUMNS: readonly Column[] = [
  { name: 'trace_id', type: 'VARCHAR' },
  { name: 'span_id', type: 'BLOB', staged: { type: 'VARCHAR', select: 'unhex(x.span_id)' } },
  { name: 'parent_span_id', type: 'BLOB', staged: { type: 'VARCHAR', select: 'unhex(x.parent_span_id)' } },
  { name: 'nested_set_left', type: 'INTEGER' },
  { name: 'nested_set_right', type: 'INTEGER' },
  { name: 'nested_set_parent', type: 'INTEGER' },
  { name: 'start_unix_nano', type: 'UBIGINT' },
  { name: 'duration_nano', type: 'UBIGINT' },
  { name: 'service_name', type: 'VARCHAR', from: 'resources' },
  { name: 'name', type: 'VARCHAR' },
  { name: 'kind', type: 'UTINYINT' },
  { name: 'status_code', type: 'UTINYINT' },
  { name: 'status_message', type: 'VARCHAR' },
  { name: 'trace_state', type: 'VARCHAR' },
  { name: 'flags', type: 'UINTEGER' },
  { name: 'attrs', type: ATTRS_TYPE },
  { name: 'dropped_attributes_count', type: 'UINTEGER' },
  { name: 'events', type: EVENTS_TYPE },
  { name: 'dropped_events_count', type: 'UINTEGER' },
  {
    name: 'links',
    type: `STRUCT(${LINK_FIELDS('BLOB')})[]`,
    staged: {
      type: `STRUCT(${LINK_FIELDS('VARCHAR')})[]`,
      select:
        'list_transform(x.links, lambda l: struct_pack(trace_id := l.trace_id, span_id := unhex(l.span_id), trace_state := l.trace_state, ' +
        'attrs := l.attrs, dropped_attributes_count := l.dropped_attributes_count, flags := l.flags))',
    },
  },
  { name: 'dropped_links_count', type: 'UINTEGER' },
  { name: 'resource_attrs', type: ATTRS_TYPE, from: 'resources' },
  { name: 'resource_dropped_attributes_count', type: 'UINTEGER', from: 'resources' },
  { name: 'resource_schema_url', type: 'VARCHAR', from: 'resources' },
  { name: 'scope_name', type: 'VARCHAR', from: 'scopes' },
  { name: 'scope_version', type: 'VARCHAR', from: 'scopes' },
  { name: 'scope_attrs', type: ATTRS_TYPE, from: 'scopes' },
  { name: 'scope_dropped_attributes_count', type: 'UINTEGER', from: 'scopes' },
  { name: 'scope_schema_url', type: 'VARCHAR', from: 'scopes' },
];

/** Staged span rows name their resource and scope by these keys. */
export const RESOURCE_REF = 'resource_ref';
export const SCOPE_REF = 'scope_ref';
/** How selectFromStaged() reaches each staged file's fields (see stagedSource() in writer.ts). */
const ALIAS: Record<StagedFile, string> = { spans: 'x.', resources: 'x.res.', scopes: 'x.sco.' };

/** Rows of a block are in this order; row groups are pruned by trace_id's min/max statistics. */
export const SORT_ORDER = 'trace_id, start_unix_nano, span_id';

/** The `columns` argument of read_json for one staged file (explicit, so nothing is sniffed). */
export function stagedJsonColumns(file: StagedFile): string {
  const cols = COLUMNS.filter((c) => (c.from ?? 'spans') === file).map((c) => `${c.name}: '${c.staged?.type ?? c.type}'`);
  if (file === 'spans') cols.push(`${RESOURCE_REF}: 'UINTEGER'`, `${SCOPE_REF}: 'UINTEGER'`);
  if (file === 'resources') cols.push(`${RESOURCE_REF}: 'UINTEGER'`);
  if (file === 'scopes') cols.push(`${SCOPE_REF}: 'UINTEGER'`);
  return `{${cols.join(', ')}}`;
}

/**
 * The SELECT list turning staged rows into block columns, in schema order: span
 * fields are reached as `x.<field>`, those of the span's resource and scope as
 * `x.res.<field>` and `x.sco.<field>`.
 */
export function selectFromStaged(): string {
  return COLUMNS.map((c) => (c.staged ? `${c.staged.select} AS ${c.name}` : `${ALIAS[c.from ?? 'spans']}${c.name} AS ${c.name}`)).join(', ');
}

/** Every column, in schema order (for copying rows between blocks). */
export function allColumns(): string {
  return COLUMNS.map((c) => c.name).join(', ');
}

/** A SQL string literal (paths are tenant-named, and a tenant ID may contain a quote). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
