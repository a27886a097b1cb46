// What one Skein process runs: everything, the store and query side only, or the collector only.
export const TARGETS = ['all', 'store', 'collector'] as const;
export type Target = (typeof TARGETS)[number];
