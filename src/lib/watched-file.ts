// A file read at start and read again whenever it changes: token files, htpasswd files,
// per-tenant overrides. Polled with stat rather than fs.watch, so a Kubernetes secret or
// config map (a symlink swapped under the mount) is seen like an edit in place.
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { Logger } from '../telemetry/logger.js';

export interface WatchedFile<T> {
  /** The newest content that parsed; a later edit that does not parse leaves it in place. */
  current(): T;
  close(): void;
}

/**
 * Reads `path` now (throwing, with the file named, if it cannot be read or parsed, so a bad
 * file stops start-up) and again on every change seen within `intervalMs`; a change that does
 * not parse is logged and the previous content kept.
 */
export function watchedFile<T>(path: string, parse: (text: string) => T, opts: { intervalMs: number; logger: Logger; what: string }): WatchedFile<T> {
  const load = (): T => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (err) {
      throw new Error(`${opts.what} ${path}: ${(err as Error).message}`);
    }
    try {
      return parse(text);
    } catch (err) {
      throw new Error(`${opts.what} ${path}: ${(err as Error).message}`);
    }
  };
  let value = load();
  const onChange = (now: Stats, before: Stats): void => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size && now.ino === before.ino) return;
    try {
      value = load();
      opts.logger.info({ path }, `${opts.what} reloaded`);
    } catch (err) {
      opts.logger.error({ path, err: (err as Error).message }, `${opts.what} changed but could not be used; keeping the previous one`);
    }
  };
  watchFile(path, { interval: opts.intervalMs, persistent: false }, onChange);
  return {
    current: () => value,
    close: () => unwatchFile(path, onChange),
  };
}
