// V8's garbage collector on demand, for the few places that must hand memory
// back right away (the memory_limiter over its limits, the store after a large
// head is cut) rather than wait for V8's own schedule.
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | null | undefined;

/**
 * V8's gc(): the global one under --expose-gc (`npm start`), else the same
 * function taken from a fresh context after turning the flag on (`skein serve`
 * is often started without Node flags). Null when the runtime refuses.
 */
export function gcFunction(): (() => void) | null {
  if (gc !== undefined) return gc;
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (typeof exposed === 'function') return (gc = exposed);
  try {
    setFlagsFromString('--expose-gc');
    const fromContext: unknown = runInNewContext('gc');
    gc = typeof fromContext === 'function' ? (fromContext as () => void) : null;
  } catch {
    gc = null;
  }
  return gc;
}
