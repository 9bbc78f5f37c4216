import { spawn } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { NoExamplesError, TrainingInProgressError } from './errors.js';
import { publishAdapter } from './test-support/adapters.js';
import { TrainingCoordinator } from './training-coordinator.js';
import { createExample } from './weighted-example.js';

let home: string;
beforeEach(async () => {
  home = await mkdtemp(join(tmpdir(), 'shammah-coordinator-'));
});
afterEach(async () => {
  await rm(home, { recursive: true, force: true });
});

const base = () => ({ modelId: 'Org/Model', dir: join(home, 'model') });
const example = (id: string) =>
  createExample({ id, query: `q ${id}`, response: `a ${id}`, level: 'critical' });

/** A real process that holds the training lock until killed. */
async function otherProcessTraining(lockPath: string): Promise<{ pid: number; kill: () => Promise<void> }> {
  const script = `
    import { FileLock } from ${JSON.stringify(new URL('./file-lock.ts', import.meta.url).pathname)};
    await FileLock.acquire(${JSON.stringify(lockPath)}, { purpose: 'training' });
    console.log('held');
    setInterval(() => {}, 1000);
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout.on('data', () => resolve()));
  return {
    pid: child.pid!,
    kill: async () => {
      child.kill('SIGKILL');
      await new Promise((resolve) => child.once('exit', resolve));
    },
  };
}

describe('TrainingCoordinator', () => {
  it('counts the examples the newest adapter has not seen against min_new_examples', async () => {
    const coordinator = new TrainingCoordinator({ base: base(), home, settings: { min_new_examples: 2 } });
    expect(await coordinator.pending()).toEqual({ total: 0, new: 0, newWeight: 0, threshold: 2, due: false });
    for (const id of ['a', 'b', 'c']) await coordinator.queue.append(example(id));
    expect(await coordinator.pending()).toMatchObject({ total: 3, new: 3, newWeight: 30, due: true });
    await publishAdapter(coordinator.store.dir, 'v1', { ids: ['a', 'b'] });
    expect(await coordinator.pending()).toMatchObject({ total: 3, new: 1, newWeight: 10, due: false });
  });

  it('takes a custom policy', async () => {
    const coordinator = new TrainingCoordinator({
      base: base(),
      home,
      policy: (pending) => pending.newWeight >= 20,
    });
    await coordinator.queue.append(example('a'));
    expect((await coordinator.pending()).due).toBe(false);
    await coordinator.queue.append(example('b'));
    expect((await coordinator.pending()).due).toBe(true);
  });

  it('records examples without training while auto_train is off', async () => {
    const coordinator = new TrainingCoordinator({ base: base(), home, settings: { min_new_examples: 1 } });
    const { example: stored, training } = await coordinator.record(example('a'));
    expect(training).toBeUndefined();
    expect(await coordinator.maybeTrain()).toBeUndefined();
    expect((await coordinator.queue.read()).examples).toEqual([stored]);
    expect(await coordinator.status()).toEqual({ state: 'idle' });
  });

  it('refuses to train on an empty queue, and releases the lock', async () => {
    const coordinator = new TrainingCoordinator({ base: base(), home });
    await expect(coordinator.train()).rejects.toBeInstanceOf(NoExamplesError);
    await expect(coordinator.train()).rejects.toThrow(/holds no usable examples.*\/feedback/);
    expect(await readdir(coordinator.store.dir)).toEqual([]);
  });

  it('trains one at a time across processes: another process training blocks, and auto-training waits', async () => {
    const coordinator = new TrainingCoordinator({
      base: base(),
      home,
      settings: { auto_train: true, min_new_examples: 1 },
    });
    await mkdir(coordinator.store.dir, { recursive: true });
    const other = await otherProcessTraining(coordinator.lockPath);
    try {
      expect(await coordinator.status()).toMatchObject({ state: 'training-elsewhere', pid: other.pid });
      const error = await coordinator.train().catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TrainingInProgressError);
      expect(error).toMatchObject({ code: 'lora_training_in_progress', pid: other.pid });
      expect((error as Error).message).toMatch(new RegExp(`process \\(pid ${other.pid}\\) is training`));
      // The background policy does not throw; it waits for the next chance.
      const { training } = await coordinator.record(example('a'));
      expect(training).toBeUndefined();
    } finally {
      await other.kill();
    }
    expect(await coordinator.status()).toEqual({ state: 'idle' });
  });
});
