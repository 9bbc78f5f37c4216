import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, open, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { shammahHome } from '@shammah/config';
import {
  createDaemon,
  type Daemon,
  type DaemonAddress,
  type DaemonOptions,
  type HealthReport,
} from './daemon.js';
import { DaemonAlreadyRunningError, DaemonStartError, DaemonStopError } from './errors.js';
import {
  acquirePidFile,
  isDaemonProcess,
  isProcessAlive,
  type PidFileContent,
  readPidFile,
} from './pid-file.js';

/** Where the daemon keeps its files. */
export interface DaemonPaths {
  home: string;
  /** `daemon.pid`: the running daemon's id and address. */
  pidFile: string;
  /** `daemon.log`: where a detached daemon writes. */
  logFile: string;
  /** `daemon.lock`: held for a moment while a daemon claims the PID file. */
  lockFile: string;
}

/** The daemon's files under `home` (default `SHAMMAH_HOME`, else `~/.shammah`). */
export function daemonPaths(home: string = shammahHome()): DaemonPaths {
  return {
    home,
    pidFile: join(home, 'daemon.pid'),
    logFile: join(home, 'daemon.log'),
    lockFile: join(home, 'daemon.lock'),
  };
}

/** Options of {@link runDaemon}: the daemon's own, plus where its files live. */
export interface RunDaemonOptions extends DaemonOptions {
  /** Shammah's home. Default `SHAMMAH_HOME`, else `~/.shammah`. */
  home?: string;
  /** Shut down gracefully on SIGTERM and SIGINT (a second signal exits at once). Default true. */
  handleSignals?: boolean;
  /** Runs after the server closed and before the PID file goes (free the model here). */
  onStopped?: () => Promise<void> | void;
}

/** A daemon running in this process. */
export interface RunningDaemon {
  readonly daemon: Daemon;
  readonly address: DaemonAddress;
  readonly paths: DaemonPaths;
  /** Shuts down gracefully and removes the PID file. */
  stop(): Promise<void>;
  /** Resolves once the daemon stopped (by {@link RunningDaemon.stop} or a signal). */
  readonly stopped: Promise<void>;
}

/**
 * Runs the daemon in this process (the foreground): claims the PID file (replacing a stale one, refusing
 * if a daemon runs), listens, and on SIGTERM or SIGINT finishes or cancels the requests in progress
 * within the grace period, closes, and removes the PID file.
 *
 * @example
 * ```ts
 * const running = await runDaemon({ local: generator, onStopped: () => generator.dispose() });
 * console.log(`listening at ${running.address.url}`);
 * await running.stopped;
 * ```
 */
export async function runDaemon(options: RunDaemonOptions = {}): Promise<RunningDaemon> {
  const paths = daemonPaths(options.home);
  const startedAt = new Date().toISOString();
  const intended = `${options.host ?? '127.0.0.1'}:${options.port ?? 11435}`;
  const base: PidFileContent = {
    pid: process.pid,
    startedAt,
    address: intended,
    ...(options.version ? { version: options.version } : {}),
  };
  const pidFile = await acquirePidFile(paths, base);
  let daemon: Daemon;
  let address: DaemonAddress;
  try {
    daemon = createDaemon(options);
    address = await daemon.listen();
    await pidFile.update({ ...base, address: `${address.host}:${address.port}`, url: address.url });
  } catch (error) {
    await pidFile.release();
    throw error;
  }
  let resolveStopped!: () => void;
  const stopped = new Promise<void>((resolve) => {
    resolveStopped = resolve;
  });
  let stopping: Promise<void> | undefined;
  const signals: NodeJS.Signals[] = ['SIGTERM', 'SIGINT'];
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) {
      // A second signal: the user wants out now.
      void pidFile.release().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
      return;
    }
    void stop();
  };
  const stop = () => {
    stopping ??= (async () => {
      try {
        await daemon.close();
        await options.onStopped?.();
      } finally {
        await pidFile.release();
        if (options.handleSignals !== false) {
          for (const signal of signals) process.off(signal, onSignal);
        }
        resolveStopped();
      }
    })();
    return stopping;
  };
  if (options.handleSignals !== false) {
    for (const signal of signals) process.on(signal, onSignal);
  }
  return { daemon, address, paths, stop, stopped };
}

/** Options of {@link startDaemon}. */
export interface StartDaemonOptions {
  /** Shammah's home. Default `SHAMMAH_HOME`, else `~/.shammah`. */
  home?: string;
  /** Flags for `shammah-daemon run` (for example `['--bind', '127.0.0.1:0', '--model', 'Org/Name']`). */
  args?: readonly string[];
  /** The environment of the daemon process. Default this process's. */
  env?: NodeJS.ProcessEnv;
  /** How long to wait for the daemon to answer /health. Default 60 s. */
  readyTimeoutMs?: number;
  /** The `shammah-daemon` script to run. Default this package's. */
  binPath?: string;
}

/** A daemon started in the background. */
export interface StartedDaemon {
  pid: number;
  url: string;
  address: string;
  logFile: string;
}

/** The `shammah-daemon` script of this package. */
export function daemonBinPath(): string {
  return fileURLToPath(new URL('../bin/shammah-daemon.js', import.meta.url));
}

async function lastLines(path: string, count: number): Promise<string[]> {
  const lines = await readDaemonLog({ logFile: path, lines: count }).catch(() => []);
  return lines;
}

/**
 * Starts the daemon detached, in the background: spawns `shammah-daemon run` with its output appended to
 * `daemon.log`, and waits until it answers /health. Throws {@link DaemonAlreadyRunningError} if one runs,
 * and {@link DaemonStartError} (with the end of the log) if it exits or does not answer in time.
 *
 * @example
 * ```ts
 * const { url, pid } = await startDaemon({ args: ['--bind', '127.0.0.1:11435'] });
 * ```
 */
export async function startDaemon(options: StartDaemonOptions = {}): Promise<StartedDaemon> {
  const paths = daemonPaths(options.home);
  const current = await daemonStatus({ home: paths.home });
  if (current.running) throw new DaemonAlreadyRunningError(current.pid, current.url, paths.pidFile);
  await mkdir(paths.home, { recursive: true });
  const logFd = openSync(paths.logFile, 'a');
  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  let child: ReturnType<typeof spawn>;
  try {
    child = spawn(process.execPath, [options.binPath ?? daemonBinPath(), 'run', ...(options.args ?? [])], {
      detached: true,
      stdio: ['ignore', logFd, logFd],
      env: { ...(options.env ?? process.env), SHAMMAH_HOME: paths.home },
    });
  } finally {
    closeSync(logFd);
  }
  child.once('exit', (code, signal) => {
    exited = { code, signal };
  });
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new DaemonStartError('The daemon process could not be spawned.');
  const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
  while (Date.now() < deadline) {
    if (exited) {
      // Another start may have won the race for the PID file.
      const winner = await readPidFile(paths.pidFile);
      if (winner && winner.pid !== pid && isDaemonProcess(winner)) {
        throw new DaemonAlreadyRunningError(winner.pid, winner.url ?? winner.address, paths.pidFile);
      }
      const tail = await lastLines(paths.logFile, 15);
      throw new DaemonStartError(
        `The daemon exited while starting (${exited.signal ?? `code ${exited.code}`}). The end of ${paths.logFile}:\n` +
          tail.join('\n'),
      );
    }
    const content = await readPidFile(paths.pidFile);
    if (content?.pid === pid && content.url) {
      const health = await fetchHealth(content.url, 1000);
      if (health) return { pid, url: content.url, address: content.address ?? '', logFile: paths.logFile };
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    // Already gone.
  }
  throw new DaemonStartError(
    `The daemon did not answer within ${Math.round((options.readyTimeoutMs ?? 60_000) / 1000)} s; it was stopped. ` +
      `See ${paths.logFile}.`,
  );
}

async function fetchHealth(url: string, timeoutMs: number): Promise<HealthReport | undefined> {
  try {
    const response = await fetch(`${url}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return undefined;
    return (await response.json()) as HealthReport;
  } catch {
    return undefined;
  }
}

/** What {@link daemonStatus} found. */
export type DaemonStatus =
  | {
      running: true;
      pid: number;
      startedAt: string;
      uptimeSeconds: number;
      address?: string;
      url?: string;
      /** The daemon's own report (model status, sessions, queue), when it answered. */
      health?: HealthReport;
      pidFile: string;
    }
  | {
      running: false;
      /** A PID file was left by a daemon that is gone. */
      stalePid?: number;
      pidFile: string;
    };

/** Whether a daemon runs for this home: from the PID file, and from its /health when it answers. */
export async function daemonStatus(
  options: { home?: string; timeoutMs?: number } = {},
): Promise<DaemonStatus> {
  const paths = daemonPaths(options.home);
  const content = await readPidFile(paths.pidFile);
  if (!content) return { running: false, pidFile: paths.pidFile };
  if (!isDaemonProcess(content)) return { running: false, stalePid: content.pid, pidFile: paths.pidFile };
  const health = content.url ? await fetchHealth(content.url, options.timeoutMs ?? 2000) : undefined;
  const started = Date.parse(health?.startedAt ?? content.startedAt);
  return {
    running: true,
    pid: content.pid,
    startedAt: health?.startedAt ?? content.startedAt,
    uptimeSeconds: Number.isFinite(started) && started > 0 ? Math.round((Date.now() - started) / 1000) : 0,
    ...(content.address ? { address: content.address } : {}),
    ...(content.url ? { url: content.url } : {}),
    ...(health ? { health } : {}),
    pidFile: paths.pidFile,
  };
}

/** What {@link stopDaemon} did. */
export interface StopResult {
  /** A daemon was running and is now stopped. */
  stopped: boolean;
  pid?: number;
  /** It did not stop within the grace period and was killed. */
  killed?: boolean;
  /** Only a stale PID file was found (and removed). */
  removedStalePidFile?: boolean;
}

async function waitForExit(pid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!isProcessAlive(pid)) return true;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return !isProcessAlive(pid);
}

/**
 * Stops the daemon: SIGTERM (it finishes or cancels its requests and removes its PID file), then
 * SIGKILL if it is still running after `timeoutMs` (default 15 s). A stale PID file is removed.
 */
export async function stopDaemon(options: { home?: string; timeoutMs?: number } = {}): Promise<StopResult> {
  const paths = daemonPaths(options.home);
  const content = await readPidFile(paths.pidFile);
  if (!content) return { stopped: false };
  if (!isDaemonProcess(content) || content.pid === process.pid) {
    if (content.pid !== process.pid) {
      await rm(paths.pidFile, { force: true });
      return { stopped: false, removedStalePidFile: true };
    }
    throw new DaemonStopError(
      'The daemon runs in this process: call stop() on the value runDaemon returned.',
    );
  }
  try {
    process.kill(content.pid, 'SIGTERM');
  } catch (error) {
    throw new DaemonStopError(
      `Could not signal the daemon (pid ${content.pid}): ${(error as Error).message}. Is it another user's?`,
      { cause: error },
    );
  }
  let killed = false;
  if (!(await waitForExit(content.pid, options.timeoutMs ?? 15_000))) {
    killed = true;
    try {
      process.kill(content.pid, 'SIGKILL');
    } catch {
      // It exited just now.
    }
    if (!(await waitForExit(content.pid, 5_000))) {
      throw new DaemonStopError(`The daemon (pid ${content.pid}) did not exit even after SIGKILL.`);
    }
  }
  // A killed daemon cannot remove its own PID file.
  const left = await readPidFile(paths.pidFile);
  if (left?.pid === content.pid) await rm(paths.pidFile, { force: true });
  return { stopped: true, pid: content.pid, killed };
}

/** Stops the daemon if it runs, then starts it detached again. */
export async function restartDaemon(
  options: StartDaemonOptions & { timeoutMs?: number } = {},
): Promise<StartedDaemon> {
  await stopDaemon({
    ...(options.home ? { home: options.home } : {}),
    ...(options.timeoutMs ? { timeoutMs: options.timeoutMs } : {}),
  });
  return startDaemon(options);
}

/** Where to read the log from: a home (its `daemon.log`) or a file. */
export type LogSource = { home?: string; logFile?: string };

function logFileOf(source: LogSource): string {
  return source.logFile ?? daemonPaths(source.home).logFile;
}

/** The last `lines` lines of the daemon's log (default 50). */
export async function readDaemonLog(options: LogSource & { lines?: number } = {}): Promise<string[]> {
  const path = logFileOf(options);
  const wanted = options.lines ?? 50;
  let size: number;
  try {
    size = (await stat(path)).size;
  } catch {
    return [];
  }
  const handle = await open(path, 'r');
  try {
    // Read backwards in blocks until there are enough lines.
    let start = size;
    let text = '';
    while (start > 0 && text.split('\n').length <= wanted + 1) {
      const length = Math.min(64 * 1024, start);
      start -= length;
      const buffer = Buffer.alloc(length);
      await handle.read(buffer, 0, length, start);
      text = buffer.toString('utf8') + text;
    }
    const lines = text.split('\n');
    if (lines.at(-1) === '') lines.pop();
    return lines.slice(-wanted);
  } finally {
    await handle.close();
  }
}

/**
 * Follows the daemon's log like `tail -f`: yields the last `lines` lines, then each new line as it is
 * written, until `signal` aborts.
 */
export async function* followDaemonLog(
  options: LogSource & { lines?: number; signal?: AbortSignal; pollMs?: number } = {},
): AsyncGenerator<string> {
  const path = logFileOf(options);
  for (const line of await readDaemonLog({ logFile: path, lines: options.lines ?? 10 })) yield line;
  let offset = await stat(path).then(
    (info) => info.size,
    () => 0,
  );
  let partial = '';
  while (!options.signal?.aborted) {
    await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 250));
    const size = await stat(path).then(
      (info) => info.size,
      () => 0,
    );
    if (size < offset) offset = 0; // The log was truncated or replaced.
    if (size === offset) continue;
    const text = await readFile(path).then((buffer) => buffer.subarray(offset, size).toString('utf8'));
    offset = size;
    const lines = (partial + text).split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) yield line;
  }
}
