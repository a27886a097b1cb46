// The local-filesystem backend: an object is a file under the root directory.
// Writes go to a temporary file that is fsynced, renamed over the target, and
// followed by an fsync of the directory, so a crash leaves the old object or the
// new one and a rename that survives power loss.
import { randomBytes } from 'node:crypto';
import { copyFile, mkdir, open, readdir, readFile, rename, rm, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { BackendNotFoundError, keySegments, type Backend, type ReadableObject } from './backend.js';

/** Names starting with this are the backend's own (temporary files, staging): never keys, never listed. */
const RESERVED_PREFIX = '~';
const STAGING_DIR = '~staging';

export class LocalBackend implements Backend {
  private staging: Promise<string> | undefined;

  constructor(readonly rootDir: string) {}

  async list(prefix: string): Promise<string[]> {
    try {
      const names = await readdir(this.path(prefix, true));
      return names.filter((n) => !n.startsWith(RESERVED_PREFIX)).sort();
    } catch (err) {
      if (isCode(err, 'ENOENT') || isCode(err, 'ENOTDIR')) return [];
      throw err;
    }
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
      const dir = join(this.rootDir, STAGING_DIR);
      // Whatever is left there belongs to a process that died mid-write.
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
      return dir;
    })();
    return this.staging;
  }

  private path(key: string, allowEmpty = false): string {
    const segments = keySegments(key, { allowEmpty });
    if (segments.some((s) => s.startsWith(RESERVED_PREFIX))) throw new Error(`invalid storage key ${JSON.stringify(key)}: names starting with ${RESERVED_PREFIX} are reserved`);
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

function tempSibling(target: string): string {
  return join(dirname(target), `${RESERVED_PREFIX}tmp-${randomBytes(6).toString('hex')}`);
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
