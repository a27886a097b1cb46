// Waiting for an outcome without asserting how long it takes: poll a check
// until it passes, and fail with what was last seen once a generous deadline
// has gone by.

/** Calls `check` until it reports done and returns its value; throws `describe(lastSeen)` after `timeoutMs`. */
export async function eventually<T>(
  check: () => Promise<{ done: true; value: T } | { done: false; seen: unknown }>,
  describe: (lastSeen: unknown) => string,
  { timeoutMs = 30_000, intervalMs = 200 } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const r = await check();
    if (r.done) return r.value;
    if (Date.now() > deadline) throw new Error(describe(r.seen));
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** `eventually` for a yes/no condition: resolves once `check` is true; throws "timed out waiting until <what>" after `timeoutMs`. */
export async function waitUntil(check: () => Promise<boolean>, what: string, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<void> {
  await eventually(async () => ((await check()) ? { done: true, value: undefined } : { done: false, seen: undefined }), () => `timed out waiting until ${what}`, opts);
}
