import type { Worker } from 'node:worker_threads';
import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type Logger,
  type ModelCapabilities,
  silentLogger,
} from '@shammah/provider';
import type { GenerationOptions } from './generation-options.js';
import type { GeneratorOptions, GeneratorStatus, TokenEvent } from './generator.js';
import { replayLog } from './thread-logger.js';
import { deserializeError, type FromWorker, type ToWorker, type WireStatus } from './worker-protocol.js';
import { startWorker } from './worker-script.js';

type Pending = {
  push: (message: FromWorker) => void;
};

/** A queue of messages for one request that an async iterator drains. */
class Channel<T> {
  #items: T[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  push(item: T): void {
    this.#items.push(item);
    this.#wake?.();
  }
  close(): void {
    this.#closed = true;
    this.#wake?.();
  }
  async *drain(): AsyncGenerator<T> {
    for (;;) {
      while (this.#items.length > 0) yield this.#items.shift()!;
      if (this.#closed) return;
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }
}

/**
 * A `Generator` that runs on a worker thread. ONNX Runtime's `run` is synchronous in Node, so a
 * model on the main thread stalls the event loop for a whole prefill; servers and terminal apps
 * use this instead, and stay responsive while the model works. Same API as `Generator` for
 * generation; the tokenizer stays on the worker (`encodeChat` asks it).
 *
 * @example
 * ```ts
 * const generator = WorkerGenerator.create({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
 * await generator.ready();
 * const answer = await generator.generate({ messages: [{ role: 'user', content: 'Hi!' }] });
 * await generator.dispose();
 * ```
 */
export class WorkerGenerator implements ChatModel {
  readonly provider = 'local';
  readonly modelId: string;
  readonly #worker: Worker;
  readonly #log: Logger;
  readonly #pending = new Map<number, Pending>();
  #nextId = 1;
  #status: GeneratorStatus = { state: 'loading' };
  #capabilities: ModelCapabilities = {
    tools: true,
    streaming: true,
    vision: false,
    contextLength: 8192,
    maxOutputTokens: 4096,
  };
  readonly #settled: Promise<void>;
  #settle!: () => void;
  #exited = false;

  private constructor(options: GeneratorOptions) {
    this.modelId = options.name ?? options.model;
    this.#log = options.logger ?? silentLogger;
    this.#settled = new Promise((resolve) => {
      this.#settle = resolve;
    });
    const { logger: _logger, onDownloadProgress, ...init } = options;
    this.#worker = startWorker('generator-worker.js');
    this.#worker.on('message', (message: FromWorker) => {
      switch (message.type) {
        case 'status':
          this.#status = this.#fromWire(message.status);
          this.#capabilities = message.capabilities;
          if (message.status.state === 'downloading' && onDownloadProgress) {
            onDownloadProgress({
              file: message.status.file ?? '',
              downloadedBytes: 0,
              totalBytes: 0,
              fraction: message.status.progress,
            });
          }
          if (message.status.state === 'ready' || message.status.state === 'failed') this.#settle();
          break;
        case 'log':
          replayLog(this.#log, message);
          break;
        default:
          this.#pending.get(message.id)?.push(message);
      }
    });
    this.#worker.on('error', (error) => this.#fail(error));
    this.#worker.on('exit', (code) => {
      this.#exited = true;
      if (this.#status.state !== 'absent') this.#fail(new Error(`The model worker exited (code ${code}).`));
    });
    this.#post({ type: 'init', options: init });
  }

  #fail(error: Error): void {
    this.#status = { state: 'failed', reason: error.message, error };
    this.#settle();
    for (const pending of this.#pending.values()) {
      pending.push({ type: 'error', id: 0, error: { name: error.name, message: error.message } });
    }
  }

  #fromWire(status: WireStatus): GeneratorStatus {
    return status.state === 'failed'
      ? { state: 'failed', reason: status.reason, error: deserializeError(status.error) }
      : status;
  }

  #post(message: ToWorker): void {
    if (!this.#exited) this.#worker.postMessage(message);
  }

  /** Starts the worker and the model load; returns at once. */
  static create(options: GeneratorOptions): WorkerGenerator {
    return new WorkerGenerator(options);
  }

  /** Starts the worker and waits until the model is ready. */
  static async load(options: GeneratorOptions): Promise<WorkerGenerator> {
    const generator = new WorkerGenerator(options);
    await generator.ready();
    return generator;
  }

  get status(): GeneratorStatus {
    return this.#status;
  }

  get capabilities(): ModelCapabilities {
    return this.#capabilities;
  }

  async ready(): Promise<void> {
    await this.#settled;
    if (this.#status.state === 'failed') throw this.#status.error;
  }

  /** Sends a request and yields its messages until it ends. */
  async *#request(message: ToWorker & { id: number }, signal?: AbortSignal): AsyncGenerator<FromWorker> {
    const channel = new Channel<FromWorker>();
    this.#pending.set(message.id, { push: (item) => channel.push(item) });
    const abort = () => this.#post({ type: 'abort', id: message.id });
    signal?.addEventListener('abort', abort, { once: true });
    this.#post(message);
    let finished = false;
    try {
      for await (const item of channel.drain()) {
        if (item.type === 'end') {
          finished = true;
          return;
        }
        if (item.type === 'error') {
          finished = true;
          throw deserializeError(item.error);
        }
        yield item;
      }
    } finally {
      signal?.removeEventListener('abort', abort);
      // A consumer that stopped reading early cancels the work on the worker.
      if (!finished) abort();
      this.#pending.delete(message.id);
    }
  }

  async #call<T>(message: ToWorker & { id: number }): Promise<T> {
    for await (const item of this.#request(message)) {
      if (item.type === 'result') return item.value as T;
    }
    throw new Error('The model worker ended the request without a result.');
  }

  /** Token-level generation, as `Generator.generateTokens`. */
  async *generateTokens(
    promptIds: readonly number[],
    options: GenerationOptions = {},
  ): AsyncIterable<TokenEvent> {
    const { signal, ...rest } = options;
    for await (const item of this.#request(
      { type: 'tokens', id: this.#nextId++, promptIds: [...promptIds], options: rest },
      signal,
    )) {
      if (item.type === 'token') yield item.event;
    }
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const { signal, ...rest } = request;
    for await (const item of this.#request({ type: 'chat', id: this.#nextId++, request: rest }, signal)) {
      if (item.type === 'part') yield item.part;
    }
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }

  /** The conversation as the model's token ids (its chat template applied). */
  encodeChat(request: Pick<ChatRequest, 'messages' | 'tools'>): Promise<number[]> {
    return this.#call({ type: 'encode-chat', id: this.#nextId++, request });
  }

  /** As `Generator.scoreContinuation`. */
  scoreContinuation(prompt: readonly number[], continuation: readonly number[]): Promise<number[]> {
    return this.#call({
      type: 'score',
      id: this.#nextId++,
      prompt: [...prompt],
      continuation: [...continuation],
    });
  }

  clearPrefixCache(): void {
    this.#post({ type: 'clear-prefix-cache' });
  }

  /** Frees the model and stops the worker. */
  async dispose(): Promise<void> {
    if (this.#exited) return;
    try {
      for await (const _ of this.#request({ type: 'dispose', id: this.#nextId++ })) {
        // Nothing to read: the request ends when the model is freed.
      }
    } finally {
      this.#status = { state: 'absent' };
      await this.#worker.terminate();
    }
  }
}
