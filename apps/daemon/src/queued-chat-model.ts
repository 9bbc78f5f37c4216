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

  constructor(inner: LocalChatModel, queue: FairRequestQueue) {
    this.#inner = inner;
    this.#queue = queue;
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
