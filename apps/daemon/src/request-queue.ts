import { QueueFullError } from './errors.js';

/** Options of {@link FairRequestQueue}. */
export interface FairRequestQueueOptions {
  /** Requests served at once. Default 1 (one local model generates one answer at a time). */
  concurrency?: number;
  /** Requests that may wait; one more is refused with {@link QueueFullError}. Default 32. */
  maxQueued?: number;
  /** Called whenever the number waiting or running changes. */
  onChange?: (state: { queued: number; active: number }) => void;
  /** Called when a request is refused because the queue is full. */
  onReject?: () => void;
}

interface Waiter {
  key: string;
  resolve: (release: () => void) => void;
  reject: (error: unknown) => void;
  cleanup: () => void;
}

/**
 * A bounded wait queue that is fair between clients: each client (a session id or an address) has its
 * own line, and free slots go round-robin across the lines, so one client sending many requests
 * cannot starve another. Waiting ends early when the request's signal aborts.
 *
 * @example
 * ```ts
 * const queue = new FairRequestQueue({ maxQueued: 8 });
 * const release = await queue.acquire('session-1', request.signal);
 * try { await work(); } finally { release(); }
 * ```
 */
export class FairRequestQueue {
  #concurrency: number;
  readonly maxQueued: number;
  readonly #onChange: FairRequestQueueOptions['onChange'];
  readonly #onReject: FairRequestQueueOptions['onReject'];
  /** Lines by key, in the order they are served. */
  readonly #lines = new Map<string, Waiter[]>();
  #queued = 0;
  #active = 0;
  /** Recent service times, for the retry-after estimate. */
  #averageServiceMs = 5000;

  constructor(options: FairRequestQueueOptions = {}) {
    this.#concurrency = Math.max(1, options.concurrency ?? 1);
    this.maxQueued = Math.max(0, options.maxQueued ?? 32);
    this.#onChange = options.onChange;
    this.#onReject = options.onReject;
  }

  /** Requests served at once. */
  get concurrency(): number {
    return this.#concurrency;
  }

  /** Serves `concurrency` requests at once from now on (waiting ones start if there is room). */
  setConcurrency(concurrency: number): void {
    this.#concurrency = Math.max(1, concurrency);
    this.#next();
    this.#changed();
  }

  /** Requests waiting. */
  get queued(): number {
    return this.#queued;
  }

  /** Requests running. */
  get active(): number {
    return this.#active;
  }

  /** Seconds until a refused request is likely to be accepted. */
  retryAfterSeconds(): number {
    const ahead = this.#queued + this.#active;
    return Math.min(120, Math.max(1, Math.ceil((ahead * this.#averageServiceMs) / this.#concurrency / 1000)));
  }

  /**
   * Waits for a slot; resolves with the function that frees it. Throws {@link QueueFullError} at
   * once when the queue is full, and rejects with the signal's reason if it aborts while waiting.
   */
  acquire(key: string, signal?: AbortSignal): Promise<() => void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (this.#active < this.#concurrency && this.#queued === 0) {
      this.#active++;
      this.#changed();
      return Promise.resolve(this.#releaser());
    }
    if (this.#queued >= this.maxQueued) {
      this.#onReject?.();
      return Promise.reject(new QueueFullError(this.#queued, this.retryAfterSeconds()));
    }
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        this.#remove(waiter);
        reject(signal?.reason);
      };
      const waiter: Waiter = {
        key,
        resolve,
        reject,
        cleanup: () => signal?.removeEventListener('abort', onAbort),
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      const line = this.#lines.get(key);
      if (line) line.push(waiter);
      else this.#lines.set(key, [waiter]);
      this.#queued++;
      this.#changed();
    });
  }

  #releaser(): () => void {
    const started = performance.now();
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#averageServiceMs = this.#averageServiceMs * 0.8 + (performance.now() - started) * 0.2;
      this.#active--;
      this.#next();
      this.#changed();
    };
  }

  #next(): void {
    while (this.#active < this.#concurrency && this.#queued > 0) {
      // The first line in order is served, then moves to the back: round-robin across clients.
      const [key, line] = this.#lines.entries().next().value as [string, Waiter[]];
      const waiter = line.shift()!;
      this.#lines.delete(key);
      if (line.length > 0) this.#lines.set(key, line);
      this.#queued--;
      this.#active++;
      waiter.cleanup();
      waiter.resolve(this.#releaser());
    }
  }

  #remove(waiter: Waiter): void {
    const line = this.#lines.get(waiter.key);
    const index = line?.indexOf(waiter) ?? -1;
    if (!line || index === -1) return;
    line.splice(index, 1);
    if (line.length === 0) this.#lines.delete(waiter.key);
    this.#queued--;
    waiter.cleanup();
    this.#changed();
  }

  /** Refuses everything waiting (at shutdown). */
  rejectAll(error: unknown): void {
    for (const line of this.#lines.values()) {
      for (const waiter of line) {
        waiter.cleanup();
        waiter.reject(error);
      }
    }
    this.#lines.clear();
    this.#queued = 0;
    this.#changed();
  }

  #changed(): void {
    this.#onChange?.({ queued: this.#queued, active: this.#active });
  }
}
