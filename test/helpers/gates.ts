// Controlling the order of asynchronous work in unit tests of schedulers (admission queues):
// a gate holds a piece of work until the test opens it, and settle lets the event loop go round.

/** Lets the event loop go round a few times: enough for every task that may start to have started. */
export async function settle(): Promise<void> {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
}

/** A promise the test resolves when it chooses. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
