// The mark a cluster peer puts on the spans it forwards to their owner
// (docs/scale-out.md): a request carrying it goes straight to the owner's own
// share of the pipeline and is never routed again, whatever the receiving
// instance's view of the ring, so no batch can travel in a loop while the
// instances' views of the membership differ.

/** gRPC metadata key / HTTP header, lower case. */
export const FORWARDED_HEADER = 'x-skein-forwarded';
export const FORWARDED_VALUE = '1';

/** True when a request's header values say it was forwarded by a peer. */
export function isForwarded(value: string | readonly string[] | undefined): boolean {
  return typeof value === 'string' ? value === FORWARDED_VALUE : (value?.includes(FORWARDED_VALUE) ?? false);
}
