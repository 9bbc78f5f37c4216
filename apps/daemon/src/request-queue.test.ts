import { describe, expect, it } from 'vitest';
import { QueueFullError } from './errors.js';
import { FairRequestQueue } from './request-queue.js';

describe('FairRequestQueue', () => {
  it('serves waiting clients round-robin, so one client cannot starve another', async () => {
    const queue = new FairRequestQueue({ maxQueued: 10 });
    const release = await queue.acquire('a');
    const order: string[] = [];
    const waiting = [
      ['a', 'a1'],
      ['a', 'a2'],
      ['a', 'a3'],
      ['b', 'b1'],
    ].map(([key, name]) =>
      queue.acquire(key!).then((done) => {
        order.push(name!);
        done();
      }),
    );
    expect(queue.queued).toBe(4);
    release();
    await Promise.all(waiting);
    expect(order).toEqual(['a1', 'b1', 'a2', 'a3']);
    expect(queue.active).toBe(0);
  });

  it('lets waiting requests in when its concurrency rises (the model turned out to batch)', async () => {
    const queue = new FairRequestQueue({ maxQueued: 10 });
    const first = await queue.acquire('a');
    const second = queue.acquire('b');
    const third = queue.acquire('c');
    expect(queue.queued).toBe(2);
    queue.setConcurrency(3);
    expect(queue.concurrency).toBe(3);
    expect(queue.active).toBe(3);
    (await second)();
    (await third)();
    first();
    expect(queue.active).toBe(0);
  });

  it('refuses a request past the bound at once, with a retry-after estimate', async () => {
    const rejected: number[] = [];
    const queue = new FairRequestQueue({ maxQueued: 1, onReject: () => rejected.push(1) });
    const release = await queue.acquire('a');
    const second = queue.acquire('b');
    const error = await queue.acquire('c').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueFullError);
    expect((error as QueueFullError).retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(rejected).toHaveLength(1);
    release();
    (await second)();
  });

  it('drops a waiting request whose signal aborts', async () => {
    const changes: number[] = [];
    const queue = new FairRequestQueue({ onChange: ({ queued }) => changes.push(queued) });
    const release = await queue.acquire('a');
    const controller = new AbortController();
    const waiting = queue.acquire('b', controller.signal);
    expect(queue.queued).toBe(1);
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(queue.queued).toBe(0);
    release();
    expect(queue.active).toBe(0);
    expect(changes.at(-1)).toBe(0);
  });

  it('refuses everything waiting at shutdown, and frees a slot only once', async () => {
    const queue = new FairRequestQueue();
    const release = await queue.acquire('a');
    const waiting = queue.acquire('b');
    queue.rejectAll(new Error('shutting down'));
    await expect(waiting).rejects.toThrow('shutting down');
    release();
    release();
    expect(queue.active).toBe(0);
  });
});
