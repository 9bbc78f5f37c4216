import type { Worker } from 'node:worker_threads';
import { type Logger, silentLogger } from '@shammah/provider';
import type { Decoder, DecoderCache } from './decoder.js';
import type { BatchingOptions, GraphLayout } from './decoder-session.js';
import type { ModelConfig } from './model-files.js';
import type { ExecutionProvider } from './onnx-runtime.js';
import { type LogMessage, replayLog } from './thread-logger.js';
import { deserializeError, type SerializedError } from './worker-protocol.js';
import { startWorker } from './worker-script.js';

/** Session settings that can cross the thread boundary. */
export interface ThreadedDecoderOptions {
  executionProviders?: ExecutionProvider[];
  intraOpThreads?: number;
  binding?: 'auto' | 'onnxruntime-node';
  /** Decode several sequences in one run (GroupQueryAttention graphs through the C API). */
  batching?: BatchingOptions;
  logger?: Logger;
}

/** Messages to the decoder thread. */
export type ToDecoderThread =
  | {
      type: 'open';
      path: string;
      config: ModelConfig;
      options: Omit<ThreadedDecoderOptions, 'logger'>;
    }
  | { type: 'create-cache'; cache: number; capacity: number }
  | { type: 'truncate'; cache: number; length: number }
  | { type: 'release-cache'; cache: number }
  | { type: 'set-batching'; cache: number; member: boolean }
  | { type: 'forward'; id: number; cache: number; ids: number[]; allPositions: boolean; copy: boolean }
  | { type: 'forward-each'; id: number; steps: Array<{ cache: number; token: number }> }
  | { type: 'release'; id: number };

/** Messages from the decoder thread. */
export type FromDecoderThread =
  | {
      type: 'opened';
      layout: GraphLayout;
      executionProvider: string;
      batchSlots: number;
      logits: SharedArrayBuffer;
    }
  | { type: 'forwarded'; id: number; length: number; rows?: Float32Array }
  | { type: 'forwarded-each'; id: number; lengths: number[]; rows: Float32Array[] }
  | { type: 'released'; id: number }
  | { type: 'error'; id: number; error: SerializedError }
  | LogMessage;

/** A cache that lives on the decoder thread; this side tracks its length. */
class ThreadCache implements DecoderCache {
  length = 0;
  released = false;

  constructor(
    readonly id: number,
    readonly owner: ThreadedDecoder,
    readonly post: (message: ToDecoderThread) => void,
  ) {}

  truncate(length: number): void {
    if (length >= this.length) return;
    this.length = Math.max(0, length);
    this.post({ type: 'truncate', cache: this.id, length: this.length });
  }

  release(): void {
    if (this.released) return;
    this.released = true;
    this.post({ type: 'release-cache', cache: this.id });
  }
}

interface Pending {
  resolve: (message: FromDecoderThread) => void;
  reject: (error: Error) => void;
}

/**
 * A decoder graph run on a worker thread of its own, with its KV caches kept there.
 *
 * Why a thread: a step holds the thread that runs it (tens of milliseconds; seconds for a long
 * prompt), so the caller's event loop (HTTP, terminal redraws, Ctrl-C) would wait for every step.
 * Through onnxruntime-node's binding, which copies every output into new JavaScript memory (the
 * whole KV cache each step), the garbage collections that follow are also cheapest on a thread
 * that holds nothing else. Only the logits cross back, through shared memory.
 */
export class ThreadedDecoder implements Decoder {
  readonly layout: GraphLayout;
  readonly executionProvider: string;
  readonly batchSlots: number;
  readonly #worker: Worker;
  readonly #logits: Float32Array;
  readonly #pending: Map<number, Pending>;
  #nextId = 1;
  #nextCache = 1;
  #stopped: Error | undefined;

  private constructor(
    worker: Worker,
    pending: Map<number, Pending>,
    opened: Extract<FromDecoderThread, { type: 'opened' }>,
  ) {
    this.#worker = worker;
    this.#pending = pending;
    this.layout = opened.layout;
    this.executionProvider = opened.executionProvider;
    this.batchSlots = opened.batchSlots;
    this.#logits = new Float32Array(opened.logits);
  }

  /** Starts the thread and opens the ONNX file on it; load errors keep their class. */
  static open(
    path: string,
    config: ModelConfig,
    options: ThreadedDecoderOptions = {},
  ): Promise<ThreadedDecoder> {
    const { logger = silentLogger, ...sessionOptions } = options;
    const worker = startWorker('decoder-worker.js');
    const pending = new Map<number, Pending>();
    let decoder: ThreadedDecoder | undefined;
    return new Promise<ThreadedDecoder>((resolve, reject) => {
      const fail = (error: Error) => {
        if (decoder) decoder.#stop(error);
        else reject(error);
      };
      worker.on('message', (message: FromDecoderThread) => {
        if (message.type === 'log') {
          replayLog(logger, message);
        } else if (message.type === 'opened') {
          decoder = new ThreadedDecoder(worker, pending, message);
          worker.unref();
          resolve(decoder);
        } else if (message.type === 'error' && message.id === 0) {
          reject(deserializeError(message.error));
        } else {
          const waiting = pending.get(message.id);
          pending.delete(message.id);
          if (pending.size === 0) worker.unref();
          if (message.type === 'error') waiting?.reject(deserializeError(message.error));
          else waiting?.resolve(message);
        }
      });
      worker.on('error', (error) =>
        fail(new Error(`The model thread failed: ${error.message}`, { cause: error })),
      );
      worker.on('exit', (code) => fail(new Error(`The model thread stopped (exit code ${code}).`)));
      worker.postMessage({ type: 'open', path, config, options: sessionOptions } satisfies ToDecoderThread);
    });
  }

  #post = (message: ToDecoderThread): void => {
    if (!this.#stopped) this.#worker.postMessage(message);
  };

  #request(message: ToDecoderThread & { id: number }): Promise<FromDecoderThread> {
    if (this.#stopped) return Promise.reject(this.#stopped);
    return new Promise((resolve, reject) => {
      if (this.#pending.size === 0) this.#worker.ref();
      this.#pending.set(message.id, { resolve, reject });
      this.#worker.postMessage(message);
    });
  }

  #stop(error: Error): void {
    if (this.#stopped) return;
    this.#stopped = error;
    for (const waiting of this.#pending.values()) waiting.reject(error);
    this.#pending.clear();
  }

  createCache(capacity: number): DecoderCache {
    const cache = new ThreadCache(this.#nextCache++, this, this.#post);
    this.#post({ type: 'create-cache', cache: cache.id, capacity });
    return cache;
  }

  async forward(ids: readonly number[], cache: DecoderCache, allPositions = false): Promise<Float32Array> {
    if (!(cache instanceof ThreadCache) || cache.owner !== this) {
      throw new TypeError(
        'This cache belongs to another decoder: create it with this decoder.createCache().',
      );
    }
    if (cache.released)
      throw new Error('This cache was released: create a new one with decoder.createCache().');
    const reply = await this.#request({
      type: 'forward',
      id: this.#nextId++,
      cache: cache.id,
      ids: [...ids],
      allPositions,
      // With sequences running side by side, each reply needs logits of its own: the shared
      // buffer would be overwritten by the next sequence's step before this one is read.
      copy: this.batchSlots > 1,
    });
    if (reply.type !== 'forwarded') throw new Error(`Unexpected reply from the model thread: ${reply.type}`);
    cache.length = reply.length;
    return reply.rows ?? this.#logits;
  }

  setBatching(cache: DecoderCache, member: boolean): void {
    if (this.batchSlots <= 1 || !(cache instanceof ThreadCache) || cache.owner !== this || cache.released)
      return;
    this.#post({ type: 'set-batching', cache: cache.id, member });
  }

  async forwardEach(steps: ReadonlyArray<{ id: number; cache: DecoderCache }>): Promise<Float32Array[]> {
    const caches = steps.map((step) => {
      const cache = step.cache;
      if (!(cache instanceof ThreadCache) || cache.owner !== this) {
        throw new TypeError(
          'This cache belongs to another decoder: create it with this decoder.createCache().',
        );
      }
      if (cache.released)
        throw new Error('This cache was released: create a new one with decoder.createCache().');
      return cache;
    });
    const reply = await this.#request({
      type: 'forward-each',
      id: this.#nextId++,
      steps: steps.map((step, index) => ({ cache: caches[index]!.id, token: step.id })),
    });
    if (reply.type !== 'forwarded-each')
      throw new Error(`Unexpected reply from the model thread: ${reply.type}`);
    caches.forEach((cache, index) => {
      cache.length = reply.lengths[index]!;
    });
    return reply.rows;
  }

  async release(): Promise<void> {
    if (this.#stopped) return;
    const exited = new Promise<void>((resolve) => this.#worker.once('exit', () => resolve()));
    await this.#request({ type: 'release', id: this.#nextId++ });
    this.#stop(new Error('The model was released.'));
    // Held until the thread is gone, so the runtime's memory is freed when release() returns.
    this.#worker.ref();
    await exited;
  }
}
