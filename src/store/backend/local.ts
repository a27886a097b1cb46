// The local-filesystem backend: an object is a file under the root directory.
// Writes go to a temporary file that is fsynced, renamed over the target, and
// followed by an fsync of the directory, so a crash leaves the old object or the
// new one and a rename that survives power loss.
import { createHash, randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { BackendNotFoundError, keySegments, type Backend, type ObjectInfo, type ReadableObject } from './backend.js';

/**
 * Names starting with these are the backend's own (temporary files, locks, staging): never
 * keys, never listed. Other names starting with `~` are keys like any other (the store's
 * `~index.json`, `~cluster/…`).
 */
const RESERVED_PREFIXES = ['~tmp-', '~lock-', '~staging'];
const STAGING_DIR = '~staging';
/** A conditional write holds its key's lock for a read and a rename: one older than this was left by a process that died holding it. */
const STALE_LOCK_MS = 10_000;
const LOCK_WAIT_MS = 30_000;

export class LocalBackend implements Backend {
  readonly shared: boolean;
  private staging: Promise<string> | undefined;

  /**
   * `shared`: other processes use the same directory (tests standing in for several
   * instances over one bucket): each process then stages its files in a directory of
   * its own, and leaves the others' alone.
   */
  constructor(
    readonly rootDir: string,
    opts: { shared?: boolean } = {},
  ) {
    this.shared = opts.shared ?? false;
  }

  async list(prefix: string): Promise<string[]> {
    try {
      const names = await readdir(this.path(prefix, true));
      return names.filter((n) => !isReserved(n)).sort();
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
      throw err;
    }
  }

  async listObjects(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string, keyPrefix: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch (err) {
        // Gone meanwhile (deleted by another process), or not a directory.
        if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return;
        throw err;
      }
      for (const e of entries) {
        if (isReserved(e.name)) continue;
        const key = keyPrefix === '' ? e.name : `${keyPrefix}/${e.name}`;
        if (e.isDirectory()) {
          await walk(join(dir, e.name), key);
          continue;
        }
        try {
          const st = await stat(join(dir, e.name));
          out.push({ key, size: st.size, modified: st.mtime });
        } catch (err) {
          if (!isCode(err, 'ENOENT')) throw err;
        }
      }
    };
    await walk(this.path(prefix, true), prefix);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async read(key: string): Promise<Buffer> {
    try {
      return await readFile(this.path(key));
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new BackendNotFoundError(key);
      throw err;
    }
  }

  async readRange(key: string, offset: number, length: number): Promise<Buffer> {
    let fh;
    try {
      fh = await open(this.path(key), 'r');
    } catch (err) {
      if (isCode(err, 'ENOENT')) throw new BackendNotFoundError(key);
      throw err;
    }
    try {
      const buf = Buffer.alloc(length);
      const { bytesRead } = await fh.read(buf, 0, length, offset);
      return buf.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async write(key: string, data: Uint8Array): Promise<void> {
    await this.publish(key, async (tmp) => {
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(data);
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  async writeFile(key: string, localPath: string): Promise<void> {
    await this.publish(key, async (tmp) => {
      try {
        await rename(localPath, tmp);
      } catch (err) {
        // A staging file on another filesystem cannot be renamed in.
        if (!isCode(err, 'EXDEV')) throw err;
        await copyFile(localPath, tmp);
        await unlink(localPath);
      }
      const fh = await open(tmp, 'r');
      try {
        await fh.sync();
      } finally {
        await fh.close();
      }
    });
  }

  /**
   * Puts `key` in place whole or not at all: `stage` makes a durable file at a
   * temporary sibling, which is renamed over the key and the rename made durable
   * (on failure the temporary file goes).
   */
  private async publish(key: string, stage: (tmp: string) => Promise<void>): Promise<void> {
    const target = this.path(key);
    await this.ensureDir(dirname(target));
    const tmp = tempSibling(target);
    try {
      await stage(tmp);
      await rename(tmp, target);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
    await fsyncDir(dirname(target));
  }

  async readWithVersion(key: string): Promise<{ data: Buffer; version: string } | undefined> {
    try {
      const data = await readFile(this.path(key));
      return { data, version: versionOf(data) };
    } catch (err) {
      if (isCode(err, 'ENOENT')) return undefined;
      throw err;
    }
  }

  /**
   * The check and the write happen under the key's lock file, created exclusively
   * (O_EXCL works across processes), so two conditional writes of a key never
   * interleave; plain reads need no lock, since every write is a rename. A version
   * is a digest of the content, as S3's ETag of a single-part upload is.
   */
  async writeIfVersion(key: string, data: Uint8Array, version: string | null): Promise<string | undefined> {
    const target = this.path(key);
    await this.ensureDir(dirname(target));
    const unlock = await lockFile(join(dirname(target), `~lock-${basename(target)}`));
    try {
      const current = await this.readWithVersion(key);
      if (version === null ? current !== undefined : current?.version !== version) return undefined;
      await this.write(key, data);
      return versionOf(data);
    } finally {
      await unlock();
    }
  }

  async delete(prefix: string): Promise<void> {
    const target = this.path(prefix);
    await rm(target, { recursive: true, force: true });
    await fsyncDir(dirname(target)).catch((err: unknown) => {
      if (!isCode(err, 'ENOENT')) throw err;
    });
  }

  /** The object's file itself: it is complete, and nothing is copied or pinned. */
  async readable(key: string): Promise<ReadableObject> {
    return { path: this.path(key), release: () => undefined };
  }

  directPath(key: string): string {
    return this.path(key);
  }

  stagingDir(): Promise<string> {
    this.staging ??= (async () => {
      // Unshared, whatever is left there belongs to a process that died mid-write. Shared,
      // another process may be writing in its own right now.
      const dir = join(this.rootDir, this.shared ? `${STAGING_DIR}-${randomBytes(6).toString('hex')}` : STAGING_DIR);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    })();
    return this.staging;
  }

  private path(key: string, allowEmpty = false): string {
    const segments = keySegments(key, { allowEmpty });
    if (segments.some(isReserved)) throw new Error(`invalid storage key ${JSON.stringify(key)}: names starting with ${RESERVED_PREFIXES.join(' ')} are reserved`);
    return join(this.rootDir, ...segments);
  }

  /** Creates a directory and makes its creation durable (fsync of each new directory's parent). */
  private async ensureDir(dir: string): Promise<void> {
    const firstCreated = await mkdir(dir, { recursive: true });
    if (firstCreated === undefined) return;
    for (let d = dir; ; d = dirname(d)) {
      await fsyncDir(dirname(d));
      if (d === firstCreated || dirname(d) === d) break;
    }
  }
}

function isReserved(name: string): boolean {
  return RESERVED_PREFIXES.some((p) => name.startsWith(p));
}

function tempSibling(target: string): string {
  return join(dirname(target), `~tmp-${randomBytes(6).toString('hex')}`);
}

function versionOf(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex').slice(0, 32);
}

/** Takes the lock file (exclusive create) and returns its release; breaks a lock left by a dead process. */
async function lockFile(path: string): Promise<() => Promise<void>> {
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      await (await open(path, 'wx')).close();
      return () => unlink(path);
    } catch (err) {
      if (!isCode(err, 'EEXIST')) throw err;
    }
    const st = await stat(path).catch(() => undefined);
    if (st && Date.now() - st.mtimeMs > STALE_LOCK_MS) {
      // Renamed away rather than removed: of several processes breaking it, one succeeds.
      const broken = tempSibling(path);
      await rename(path, broken).then(
        () => rm(broken, { force: true }),
        () => undefined,
      );
      continue;
    }
    if (Date.now() > deadline) throw new Error(`${path} stays locked: a conditional write of its key has not finished for ${LOCK_WAIT_MS} ms`);
    await sleep(5);
  }
}

async function fsyncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

function isCode(err: unknown, code: string): boolean {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === code;
}
