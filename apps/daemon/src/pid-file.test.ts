import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DaemonAlreadyRunningError } from './errors.js';
import { acquirePidFile, isDaemonProcess, readPidFile } from './pid-file.js';

let dir: string;
let paths: { pidFile: string; lockFile: string };

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shammah-pid-'));
  paths = { pidFile: join(dir, 'daemon.pid'), lockFile: join(dir, 'daemon.lock') };
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** The id of a process that has exited. */
function deadPid(): number {
  return spawnSync(process.execPath, ['-e', '0']).pid!;
}

describe('PID file', () => {
  it("reads the original Shammah's bare process id, and ignores a half-written file", async () => {
    await writeFile(paths.pidFile, '4242\n');
    expect(await readPidFile(paths.pidFile)).toMatchObject({ pid: 4242 });
    await writeFile(paths.pidFile, '{"pid": 42');
    expect(await readPidFile(paths.pidFile)).toBeUndefined();
  });

  it('knows a dead process, and a live one that started after the file was written, as stale', () => {
    expect(isDaemonProcess({ pid: deadPid(), startedAt: new Date().toISOString() })).toBe(false);
    // Our parent started before now: it could have written a file now, not an hour ago.
    expect(isDaemonProcess({ pid: process.ppid, startedAt: new Date().toISOString() })).toBe(true);
    expect(
      isDaemonProcess({
        pid: process.ppid,
        startedAt: new Date(Date.now() - 3_600_000 * 24 * 365).toISOString(),
      }),
    ).toBe(false);
  });

  it('replaces a stale file, refuses a live one, and removes only its own', async () => {
    await writeFile(paths.pidFile, JSON.stringify({ pid: deadPid(), startedAt: new Date().toISOString() }));
    const handle = await acquirePidFile(paths, { pid: process.pid, startedAt: new Date().toISOString() });
    expect(JSON.parse(await readFile(paths.pidFile, 'utf8')).pid).toBe(process.pid);
    await handle.update({ pid: process.pid, startedAt: new Date().toISOString(), url: 'http://127.0.0.1:1' });
    expect((await readPidFile(paths.pidFile))?.url).toBe('http://127.0.0.1:1');
    await handle.release();
    await expect(readFile(paths.pidFile)).rejects.toThrow();

    // A live daemon's file (our parent stands in for it) is left alone.
    const live = { pid: process.ppid, startedAt: new Date().toISOString(), url: 'http://127.0.0.1:2' };
    await writeFile(paths.pidFile, JSON.stringify(live));
    await expect(
      acquirePidFile(paths, { pid: process.pid, startedAt: new Date().toISOString() }),
    ).rejects.toBeInstanceOf(DaemonAlreadyRunningError);
    expect(JSON.parse(await readFile(paths.pidFile, 'utf8'))).toEqual(live);
    // The lock is released after a refusal too.
    await expect(readFile(paths.lockFile)).rejects.toThrow();
  });
});
