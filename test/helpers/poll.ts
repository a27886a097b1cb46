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

/**
 * Polls `check` until it gives something other than undefined or false and
 * returns that (true, for a yes/no check); throws "timed out waiting for
 * <what>" once `timeoutMs` has gone by. The deadline only bounds a failure:
 * tests never assert how long anything takes.
 */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 60_000,
  intervalMs = 50,
): Promise<T> {
  return eventually(
    async () => {
      const value = await check();
      return value === undefined || value === false ? { done: false, seen: undefined } : { done: true, value };
    },
    () => `timed out waiting for ${what}`,
    { timeoutMs, intervalMs },
  );
}
