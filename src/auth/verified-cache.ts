// Credentials already proven, so a client that sends the same one on every request pays
// for bcrypt or a JWT signature once, then a SHA-256 and a map lookup. Keys are digests
// of the credential (never the credential itself), and only successes are kept: a wrong
// password or a forged token is checked in full every time.
import { digestKey, sha256 } from './digest.js';

export class VerifiedCache<V> {
  /** Insertion order is age order: the first entry is the oldest, evicted first when full. */
  private readonly entries = new Map<string, { value: V; expiresAt: number }>();

  constructor(
    private readonly maxEntries: number,
    private readonly now: () => number = Date.now,
  ) {}

  get(key: string): V | undefined {
    const hit = this.entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.expiresAt <= this.now()) {
      this.entries.delete(key);
      return undefined;
    }
    return hit.value;
  }

  /** Keeps `value` until `expiresAt` (ms since the epoch), evicting the oldest entry when full. */
  set(key: string, value: V, expiresAt: number): void {
    if (expiresAt <= this.now()) return;
    this.entries.delete(key);
    if (this.entries.size >= this.maxEntries) this.entries.delete(this.entries.keys().next().value!);
    this.entries.set(key, { value, expiresAt });
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}

/** The cache key of a credential made of `parts`: their SHA-256, each part length-prefixed so no two lists collide. */
export function credentialKey(...parts: readonly string[]): string {
  return digestKey(sha256(parts.map((p) => `${p.length}:${p}`).join('')));
}
