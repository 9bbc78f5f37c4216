import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { link, mkdir, open, readFile, rename, rm, stat, unlink, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DaemonAlreadyRunningError, DaemonStartError } from './errors.js';

/** What the PID file records about a running daemon. */
export interface PidFileContent {
  pid: number;
  /** ISO time the daemon started. */
  startedAt: string;
  /** `host:port` it listens on (or will, while starting). */
  address?: string;
  /** `http://host:port`, once listening. */
  url?: string;
  version?: string;
}

/**
 * Reads the PID file: Shammah's JSON, or the original Shammah's bare process id. Undefined when there is
 * none or it is unreadable (a crash while it was written).
 */
export async function readPidFile(path: string): Promise<PidFileContent | undefined> {
  let text: string;
  try {
    text = (await readFile(path, 'utf8')).trim();
  } catch {
    return undefined;
  }
  if (/^\d+$/.test(text)) return { pid: Number(text), startedAt: new Date(0).toISOString() };
  try {
    const parsed = JSON.parse(text) as Partial<PidFileContent>;
    if (typeof parsed.pid !== 'number' || !Number.isInteger(parsed.pid) || parsed.pid <= 0) return undefined;
    return {
      ...parsed,
      pid: parsed.pid,
      startedAt: typeof parsed.startedAt === 'string' ? parsed.startedAt : new Date(0).toISOString(),
    };
  } catch {
    return undefined;
  }
}

/** Linux's view of a process: whether it is a zombie, and when it started. */
function procInfo(pid: number): { zombie: boolean; startedAtMs?: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const zombie = fields[0] === 'Z' || fields[0] === 'X';
    const startTicks = Number(fields[19]);
    const bootLine = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    if (!bootLine || !Number.isFinite(startTicks)) return { zombie };
    // Clock ticks are 100 a second on every Linux Node runs on.
    return { zombie, startedAtMs: Number(bootLine[1]) * 1000 + startTicks * 10 };
  } catch {
    return undefined;
  }
}

/** Whether a process with this id exists (a zombie counts as gone). */
export function isProcessAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists but belongs to someone else.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return !procInfo(pid)?.zombie;
}

function processStartMs(pid: number): number | undefined {
  const fromProc = procInfo(pid)?.startedAtMs;
  if (fromProc !== undefined) return fromProc;
  try {
    const started = execFileSync('ps', ['-o', 'lstart=', '-p', String(pid)], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      timeout: 2000,
    }).trim();
    const ms = Date.parse(started);
    return Number.isFinite(ms) ? ms : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether the PID file describes a daemon that still runs: its process exists and is the one that
 * wrote the file. A process that started after the file was written has reused the id of a daemon
 * that died (a crash, a SIGKILL, a reboot).
 */
export function isDaemonProcess(content: PidFileContent): boolean {
  if (content.pid === process.pid) return true;
  if (!isProcessAlive(content.pid)) return false;
  const written = Date.parse(content.startedAt);
  const started = processStartMs(content.pid);
  if (started === undefined || !Number.isFinite(written) || written === 0) return true;
  // Allow for clock granularity: `ps` reports whole seconds.
  return started <= written + 2000;
}

async function writeExclusive(path: string, text: string): Promise<boolean> {
  // Written in full beside the target, then linked into place: the link fails if the file exists, so
  // two daemons starting at once cannot both succeed, and no reader ever sees half a file.
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, text, { mode: 0o644 });
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(temp).catch(() => undefined);
  }
}

async function replace(path: string, text: string): Promise<void> {
  const temp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  await writeFile(temp, text, { mode: 0o644 });
  await rename(temp, path);
}

const LOCK_STALE_MS = 30_000;

/**
 * Holds `lockPath` while `task` runs: created exclusively with the holder's pid; a lock whose holder
 * died, or older than 30 s, is taken over.
 */
async function withLock<T>(lockPath: string, task: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      const handle = await open(lockPath, 'wx');
      await handle.writeFile(String(process.pid));
      await handle.close();
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = Number((await readFile(lockPath, 'utf8').catch(() => '')).trim());
      const age = await stat(lockPath).then(
        (info) => Date.now() - info.mtimeMs,
        () => 0,
      );
      if ((Number.isInteger(holder) && holder > 0 && !isProcessAlive(holder)) || age > LOCK_STALE_MS) {
        await rm(lockPath, { force: true });
        continue;
      }
      if (Date.now() > deadline) {
        throw new DaemonStartError(
          `Another start holds the lock ${lockPath} (pid ${holder || 'unknown'}). If no other daemon is starting, ` +
            'remove that file and try again.',
        );
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await task();
  } finally {
    await rm(lockPath, { force: true });
  }
}

/** A PID file this process owns. */
export interface PidFileHandle {
  readonly path: string;
  /** Rewrites it (atomically) with new details, such as the address once listening. */
  update(content: PidFileContent): Promise<void>;
  /** Removes it, if it is still this process's. */
  release(): Promise<void>;
}

/**
 * Claims the PID file for this process. A file left by a daemon that is gone (crashed, killed, or its
 * id reused by another process) is replaced; a live daemon's file makes this throw
 * {@link DaemonAlreadyRunningError}. Two starts at once are safe: the check and the write happen under
 * a lock, and the write itself is an exclusive create.
 */
export async function acquirePidFile(
  paths: { pidFile: string; lockFile: string },
  content: PidFileContent,
): Promise<PidFileHandle> {
  await mkdir(dirname(paths.pidFile), { recursive: true });
  await withLock(paths.lockFile, async () => {
    const existing = await readPidFile(paths.pidFile);
    if (existing && existing.pid !== content.pid && isDaemonProcess(existing)) {
      throw new DaemonAlreadyRunningError(existing.pid, existing.url ?? existing.address, paths.pidFile);
    }
    if (!(await writeExclusive(paths.pidFile, JSON.stringify(content)))) {
      // A stale file (or a half-written one from a crash): replace it.
      await rm(paths.pidFile, { force: true });
      if (!(await writeExclusive(paths.pidFile, JSON.stringify(content)))) {
        const winner = await readPidFile(paths.pidFile);
        throw new DaemonAlreadyRunningError(winner?.pid ?? 0, winner?.address, paths.pidFile);
      }
    }
  });
  return {
    path: paths.pidFile,
    async update(next) {
      const current = await readPidFile(paths.pidFile);
      if (current && current.pid !== content.pid) return;
      await replace(paths.pidFile, JSON.stringify(next));
    },
    async release() {
      const current = await readPidFile(paths.pidFile);
      if (current?.pid === content.pid) await rm(paths.pidFile, { force: true });
    },
  };
}
