// Backends for tests that need to see or bend what a store asks of its backend:
// Backend is an interface, so these pass every call through to a real LocalBackend
// and only count calls or change one behaviour.
import type { Backend, ObjectInfo, ReadableObject } from '../../src/store/backend/backend.js';
import type { LocalBackend } from '../../src/store/backend/local.js';

export class PassThroughBackend implements Backend {
  constructor(protected readonly inner: LocalBackend) {}
  get shared(): boolean {
    return this.inner.shared;
  }
  list(prefix: string): Promise<string[]> {
    return this.inner.list(prefix);
  }
  listObjects(prefix: string): Promise<ObjectInfo[]> {
    return this.inner.listObjects(prefix);
  }
  read(key: string): Promise<Buffer> {
    return this.inner.read(key);
  }
  readRange(key: string, offset: number, length: number): Promise<Buffer> {
    return this.inner.readRange(key, offset, length);
  }
  write(key: string, data: Uint8Array): Promise<void> {
    return this.inner.write(key, data);
  }
  writeFile(key: string, localPath: string): Promise<void> {
    return this.inner.writeFile(key, localPath);
  }
  delete(prefix: string): Promise<void> {
    return this.inner.delete(prefix);
  }
  /** The local file holds every byte, whatever is wanted. */
  readable(key: string): Promise<ReadableObject> {
    return this.inner.readable(key);
  }
  directPath(key: string): string {
    return this.inner.directPath(key);
  }
  stagingDir(): Promise<string> {
    return this.inner.stagingDir();
  }
  readWithVersion(key: string): Promise<{ data: Buffer; version: string } | undefined> {
    return this.inner.readWithVersion(key);
  }
  writeIfVersion(key: string, data: Uint8Array, version: string | null): Promise<string | undefined> {
    return this.inner.writeIfVersion(key, data, version);
  }
}

/** Counts reads (by key) and listings. */
export class CountingBackend extends PassThroughBackend {
  readonly reads: string[] = [];
  lists = 0;
  listObjectsCalls = 0;
  reset(): void {
    this.reads.length = 0;
    this.lists = 0;
    this.listObjectsCalls = 0;
  }
  override list(prefix: string): Promise<string[]> {
    this.lists++;
    return super.list(prefix);
  }
  override listObjects(prefix: string): Promise<ObjectInfo[]> {
    this.listObjectsCalls++;
    return super.listObjects(prefix);
  }
  override read(key: string): Promise<Buffer> {
    this.reads.push(key);
    return super.read(key);
  }
}

/** Conditional writes that `ignoreConditions` turns into plain writes (as s3rver does), and `failWrites` into errors (an unreachable bucket). */
export class BendingBackend extends PassThroughBackend {
  ignoreConditions = false;
  failWrites = false;
  override async writeIfVersion(key: string, data: Uint8Array, version: string | null): Promise<string | undefined> {
    if (this.failWrites) throw new Error('bucket unreachable');
    if (!this.ignoreConditions) return super.writeIfVersion(key, data, version);
    await this.inner.write(key, data);
    return (await this.inner.readWithVersion(key))!.version;
  }
}
