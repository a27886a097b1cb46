// What one Skein process runs:
//   all        everything (the default)
//   store      the store and query side only, behind a collector
//   collector  receivers and pipeline, forwarding elsewhere: no store
//   ingester   receivers, pipeline and store (WAL, head, block writes), answering peers' head
//              queries, without the public query API or UI: a cluster's write path
//   querier    the query API and UI over the bucket and the peers' heads, without receivers
//              or a WAL: a cluster's read path
export const TARGETS = ['all', 'store', 'collector', 'ingester', 'querier'] as const;
export type Target = (typeof TARGETS)[number];
