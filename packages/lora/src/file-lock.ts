import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { dirname } from 'node:path';
import { LockBusyError, type LockHolder } from './errors.js';

/** How to take a lock. */
export interface FileLockOptions {
  /** Said in the lock file and in errors, e.g. `training` or `queue compaction`. */
  purpose: string;
  /** Keep trying this long before giving up with {@link LockBusyError}. Default 0: one try. */
  timeoutMs?: number;
  /** Between tries. Default 100 ms. */
  pollMs?: number;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but belongs to someone else.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readHolder(path: string): Promise<LockHolder | undefined> {
  try {
    const holder = JSON.parse(await readFile(path, 'utf8')) as LockHolder;
    return typeof holder.pid === 'number' ? holder : undefined;
  } catch {
    return undefined;
  }
}

/**
 * An exclusive lock shared by every Shammah process on the machine (the daemon and any number of
 * CLIs): a file created with `O_EXCL` that names its holder. A lock whose holder process is gone
 * (it crashed or was killed) is stale and is taken over, so a crash never blocks training forever.
 *
 * @example
 * ```ts
 * const lock = await FileLock.acquire('/home/me/.shammah/adapters/.training.lock', { purpose: 'training' });
 * try {
 *   // … one at a time …
 * } finally {
 *   await lock.release();
 * }
 * ```
 */
export class FileLock {
  readonly path: string;
  readonly holder: LockHolder;
  #released = false;

  private constructor(path: string, holder: LockHolder) {
    this.path = path;
    this.holder = holder;
  }

  /** Takes the lock, or throws {@link LockBusyError} naming the live holder. */
  static async acquire(path: string, options: FileLockOptions): Promise<FileLock> {
    const deadline = Date.now() + (options.timeoutMs ?? 0);
    await mkdir(dirname(path), { recursive: true });
    for (;;) {
      const lock = await FileLock.#tryCreate(path, options.purpose);
      if (lock) return lock;
      const holder = await FileLock.#staleOrHolder(path);
      if (holder === 'stale') continue;
      if (Date.now() >= deadline) throw new LockBusyError(path, holder);
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 100));
    }
  }

  /** The live holder of the lock at `path`, or undefined when it is free (or stale). */
  static async inspect(path: string): Promise<LockHolder | undefined> {
    const holder = await readHolder(path);
    if (!holder) return undefined;
    return holder.hostname !== hostname() || alive(holder.pid) ? holder : undefined;
  }

  static async #tryCreate(path: string, purpose: string): Promise<FileLock | undefined> {
    const holder: LockHolder = {
      pid: process.pid,
      hostname: hostname(),
      purpose,
      acquiredAt: new Date().toISOString(),
    };
    let handle: Awaited<ReturnType<typeof open>>;
    try {
      handle = await open(path, 'wx', 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'EEXIST') return undefined;
      throw error;
    }
    try {
      await handle.writeFile(JSON.stringify(holder));
    } finally {
      await handle.close();
    }
    return new FileLock(path, holder);
  }

  /** Removes a stale lock and says so, or returns the live holder. */
  static async #staleOrHolder(path: string): Promise<LockHolder | undefined | 'stale'> {
    let before: Awaited<ReturnType<typeof stat>>;
    try {
      before = await stat(path);
    } catch {
      return 'stale'; // released meanwhile: try again
    }
    const holder = await readHolder(path);
    if (!holder) {
      // Being written right now (created, not yet filled), or left empty by a crash at that very
      // moment: only an old empty file counts as stale.
      return Date.now() - before.mtimeMs > 10_000 ? FileLock.#remove(path, before.ino) : undefined;
    }
    if (holder.hostname !== hostname() || alive(holder.pid)) return holder;
    return FileLock.#remove(path, before.ino);
  }

  static async #remove(path: string, ino: number | bigint): Promise<'stale'> {
    // Only remove the file we judged stale, not a fresh lock another process created meanwhile.
    const now = await stat(path).catch(() => undefined);
    if (now && now.ino === ino) await rm(path, { force: true });
    return 'stale';
  }

  /** Releases the lock (once; later calls do nothing). */
  async release(): Promise<void> {
    if (this.#released) return;
    this.#released = true;
    const holder = await readHolder(this.path);
    if (holder && holder.pid === this.holder.pid && holder.acquiredAt === this.holder.acquiredAt) {
      await rm(this.path, { force: true });
    }
  }
}
