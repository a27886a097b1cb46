// The Parquet schema of a block: one row per span, documented column by column
// in docs/block-format.md. Changing a column's name, type or meaning is a new
// BLOCK_FORMAT.
//
// Blocks are written by DuckDB from columns built in JS (block-columns.ts builds
// exactly these types, and refuses to start when they drift apart).

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

/** `str` of a double attribute that is -0, since Parquet's dictionary encoding does not tell -0 from 0. */
export const NEGATIVE_ZERO = '-0';

export const ATTRS_TYPE = 'STRUCT(key VARCHAR, type UTINYINT, str VARCHAR, int BIGINT, dbl DOUBLE, bool BOOLEAN)[]';
const EVENTS_TYPE = `STRUCT(time_unix_nano UBIGINT, name VARCHAR, attrs ${ATTRS_TYPE}, dropped_attributes_count UINTEGER)[]`;
const LINKS_TYPE = `STRUCT(trace_id VARCHAR, span_id BLOB, trace_state VARCHAR, attrs ${ATTRS_TYPE}, dropped_attributes_count UINTEGER, flags UINTEGER)[]`;

interface Column {
  name: string;
  /** DuckDB type in the Parquet file. */
  type: string;
}

export const COLUMNS: readonly Column[] = [
  { name: 'trace_id', type: 'VARCHAR' },
  { name: 'span_id', type: 'BLOB' },
  { name: 'parent_span_id', type: 'BLOB' },
  { name: 'nested_set_left', type: 'INTEGER' },
  { name: 'nested_set_right', type: 'INTEGER' },
  { name: 'nested_set_parent', type: 'INTEGER' },
  { name: 'start_unix_nano', type: 'UBIGINT' },
  { name: 'duration_nano', type: 'UBIGINT' },
  { name: 'service_name', type: 'VARCHAR' },
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
  { name: 'links', type: LINKS_TYPE },
  { name: 'dropped_links_count', type: 'UINTEGER' },
  { name: 'resource_attrs', type: ATTRS_TYPE },
  { name: 'resource_dropped_attributes_count', type: 'UINTEGER' },
  { name: 'resource_schema_url', type: 'VARCHAR' },
  { name: 'scope_name', type: 'VARCHAR' },
  { name: 'scope_version', type: 'VARCHAR' },
  { name: 'scope_attrs', type: ATTRS_TYPE },
  { name: 'scope_dropped_attributes_count', type: 'UINTEGER' },
  { name: 'scope_schema_url', type: 'VARCHAR' },
];

/** Rows of a block are in this order; row groups are pruned by trace_id's min/max statistics. */
export const SORT_ORDER = 'trace_id, start_unix_nano, span_id';

/** Every column, in schema order (for copying rows between blocks). */
export function allColumns(): string {
  return COLUMNS.map((c) => c.name).join(', ');
}

/** A SQL string literal (paths are tenant-named, and a tenant ID may contain a quote). */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}
