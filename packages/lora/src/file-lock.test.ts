import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LockBusyError } from './errors.js';
import { FileLock } from './file-lock.js';

let dir: string;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shammah-lock-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A real process that takes the lock and holds it until killed; resolves once it holds it. */
async function holdInChild(path: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `
    import { FileLock } from ${JSON.stringify(new URL('./file-lock.ts', import.meta.url).pathname)};
    await FileLock.acquire(${JSON.stringify(path)}, { purpose: 'child test' });
    console.log('held');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (data: Buffer) => data.toString().includes('held') && resolve());
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${code})`)));
  });
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

describe('FileLock', () => {
  it('is exclusive and names its holder; release frees it', async () => {
    const path = join(dir, 'sub', 'x.lock');
    const lock = await FileLock.acquire(path, { purpose: 'training' });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({
      pid: process.pid,
      hostname: hostname(),
      purpose: 'training',
    });
    await expect(FileLock.acquire(path, { purpose: 'again' })).rejects.toThrow(
      new RegExp(`held by process ${process.pid} on .*\\(training, since`),
    );
    expect(await FileLock.inspect(path)).toMatchObject({ pid: process.pid });
    await lock.release();
    await lock.release();
    expect(await FileLock.inspect(path)).toBeUndefined();
    await (await FileLock.acquire(path, { purpose: 'again' })).release();
  });

  it('blocks other processes while the holder lives, and is taken over once it is killed', async () => {
    const path = join(dir, 'x.lock');
    const holder = await holdInChild(path);
    const error = await FileLock.acquire(path, { purpose: 'mine' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(LockBusyError);
    expect(error).toMatchObject({
      code: 'lora_lock_busy',
      holder: { pid: holder.pid, purpose: 'child test' },
    });
    await holder.kill();
    // The holder died without releasing: its lock is stale and is taken over.
    expect(await FileLock.inspect(path)).toBeUndefined();
    const lock = await FileLock.acquire(path, { purpose: 'mine' });
    expect(lock.holder.pid).toBe(process.pid);
    await lock.release();
  });

  it('waits up to timeoutMs for a release', async () => {
    const path = join(dir, 'x.lock');
    const first = await FileLock.acquire(path, { purpose: 'first' });
    setTimeout(() => void first.release(), 200);
    const second = await FileLock.acquire(path, { purpose: 'second', timeoutMs: 5_000, pollMs: 20 });
    expect(second.holder.purpose).toBe('second');
    await second.release();
  });

  it('treats an old empty lock file (a crash while creating it) as stale, a fresh one as busy', async () => {
    const path = join(dir, 'x.lock');
    await writeFile(path, '');
    await expect(FileLock.acquire(path, { purpose: 'p' })).rejects.toBeInstanceOf(LockBusyError);
    const { utimes } = await import('node:fs/promises');
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    await (await FileLock.acquire(path, { purpose: 'p' })).release();
  });
});
