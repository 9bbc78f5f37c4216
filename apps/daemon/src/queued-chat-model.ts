import {
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type ModelCapabilities,
} from '@shammah/provider';
import { daemonOptionsOf, type LocalChatModel, type LocalModelStatus } from './local-chat-model.js';
import type { FairRequestQueue } from './request-queue.js';

/**
 * The local model behind the daemon's fair queue: a request waits for its turn (or is refused when
 * the queue is full) before it reaches the model, and frees its slot when its stream ends, fails or
 * is abandoned by a client that went away.
 */
export class QueuedChatModel implements LocalChatModel {
  readonly #inner: LocalChatModel;
  readonly #queue: FairRequestQueue;

  readonly #maxConcurrency: number;

  /**
   * @param maxConcurrency requests let through at once at most; fewer while the model reports a
   *   smaller batch size (a graph that cannot batch serves one at a time, the rest wait in the queue).
   */
  constructor(inner: LocalChatModel, queue: FairRequestQueue, maxConcurrency = queue.concurrency) {
    this.#inner = inner;
    this.#queue = queue;
    this.#maxConcurrency = maxConcurrency;
  }

  get provider(): string {
    return this.#inner.provider;
  }

  get modelId(): string {
    return this.#inner.modelId;
  }

  get capabilities(): ModelCapabilities {
    return this.#inner.capabilities;
  }

  get status(): LocalModelStatus {
    return this.#inner.status;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const status = this.#inner.status;
    const batch = status.state === 'ready' ? (status.batchSize ?? 1) : 1;
    const concurrency = Math.max(1, Math.min(this.#maxConcurrency, batch));
    if (this.#queue.concurrency !== concurrency) this.#queue.setConcurrency(concurrency);
    const release = await this.#queue.acquire(
      daemonOptionsOf(request).queueKey ?? 'anonymous',
      request.signal,
    );
    try {
      yield* this.#inner.stream(request);
    } finally {
      release();
    }
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}
