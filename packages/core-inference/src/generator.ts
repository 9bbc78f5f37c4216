import { stat } from 'node:fs/promises';
import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  ContextLengthError,
  collectStream,
  type FinishReason,
  type Logger,
  type ModelCapabilities,
  silentLogger,
  type Timings,
  type TokenLogprob,
} from '@shammah/provider';
import type { Decoder, DecoderCache } from './decoder.js';
import { DecoderSession } from './decoder-session.js';
import { ModelNotFoundError, ModelNotReadyError, UnsupportedModelError } from './errors.js';
import { type GenerationOptions, planSampling } from './generation-options.js';
import { type DownloadProgress, downloadModel } from './hub-download.js';
import type { GenerationState } from './logits-processors.js';
import { defaultCacheDir, isRepoId, snapshotDir } from './model-cache.js';
import { familyOf, type ModelFamily, supportedModelTypes } from './model-family.js';
import { chooseVariant, type ModelFiles, readModelFiles } from './model-files.js';
import type { ExecutionProvider } from './onnx-runtime.js';
import { argmax, logSoftmaxAt, SeededRandom, sample } from './sampler.js';
import { TextStreamer } from './text-streamer.js';
import { ThreadedDecoder } from './threaded-decoder.js';
import { ChatTokenizer } from './tokenizer.js';

/** Where the model is in its life. */
export type GeneratorStatus =
  | { state: 'absent' }
  | { state: 'downloading'; progress: number; file?: string }
  | { state: 'loading' }
  | {
      state: 'ready';
      variant: string;
      executionProvider: string;
      /** Requests decoded together: `batchSize` where the graph can batch, else 1. */
      batchSize: number;
    }
  | { state: 'failed'; reason: string; error: Error };

/** How to find and run a model. */
export interface GeneratorOptions {
  /** A Hub repository id (`HuggingFaceTB/SmolLM2-135M-Instruct`) or a model directory. */
  model: string;
  /** The id answers report as `modelId`. Default: `model`. */
  name?: string;
  /** Branch or commit of the repository. Default `main`. */
  revision?: string;
  /** `auto` (the best quantized variant present), `fp32`, `q4`, `int8`, … Default `auto`. */
  variant?: string;
  /** The hub cache. Default: `HF_HUB_CACHE`, else `HF_HOME/hub`, else `~/.cache/huggingface/hub`. */
  cacheDir?: string;
  /** Download the model when it is not cached. Default false: a missing model is an error. */
  download?: boolean;
  /** Called while downloading. */
  onDownloadProgress?: (progress: DownloadProgress) => void;
  /** Tried in order, falling back to CPU. Default CPU. */
  executionProviders?: ExecutionProvider[];
  /** Threads per operator. Default: the runtime's choice. */
  threads?: number;
  /** How many conversations' KV caches to keep for reuse. Default 1. */
  prefixCacheSize?: number;
  /** Tokens per prefill run; long prompts are fed in chunks of this size. Default 512. */
  prefillChunk?: number;
  /**
   * Run ONNX Runtime on a thread of its own, with the KV caches kept there. Default true: decoding
   * is then as fast as the bare runtime allows however much the calling thread holds in memory,
   * and the calling thread's event loop never waits for a step. False runs it on the calling thread.
   */
  sessionThread?: boolean;
  /**
   * Sequences generated at the same time, their decode steps run together in one batch (for a
   * server with several clients). Default 1: requests run one after another. Batching needs a
   * GroupQueryAttention graph on the CPU (the fused variants); with others, requests run one after
   * another.
   */
  batchSize?: number;
  /** Positions each batched sequence can hold before it leaves the batch. Default 2048 (or the context length, if smaller). */
  batchSlotCapacity?: number;
  logger?: Logger;
}

/** One event of a token-level generation. */
export type TokenEvent =
  | { type: 'token'; id: number; text: string; logprob?: number }
  | {
      type: 'done';
      finishReason: Exclude<FinishReason, 'tool-calls' | 'content-filter' | 'error'>;
      /** The stop string (of `stop`) that ended generation, when one did. */
      stopSequence?: string;
      promptTokens: number;
      completionTokens: number;
      cachedPromptTokens: number;
      timings: Timings;
    };

interface PrefixEntry {
  tokens: number[];
  cache: DecoderCache;
}

interface Loaded {
  files: ModelFiles;
  family: ModelFamily;
  tokenizer: ChatTokenizer;
  session: Decoder;
  variant: string;
  stopIds: Set<number>;
  contextLength: number;
}

function asArray(value: number | number[] | undefined): number[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function commonPrefix(a: readonly number[], b: readonly number[]): number {
  const limit = Math.min(a.length, b.length);
  let i = 0;
  while (i < limit && a[i] === b[i]) i++;
  return i;
}

/**
 * Runs a local chat model on ONNX Runtime: loads it (in the background, reporting `status`),
 * renders conversations with the model's own chat template, and streams answers token by token
 * with a KV cache that is kept between turns.
 *
 * @example
 * ```ts
 * import { Generator } from '@shammah/core-inference';
 *
 * const generator = await Generator.load({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct' });
 * for await (const part of generator.stream({ messages: [{ role: 'user', content: 'What is the capital of France?' }] })) {
 *   if (part.type === 'text-delta') process.stdout.write(part.text);
 * }
 * await generator.dispose();
 * ```
 */
export class Generator implements ChatModel {
  readonly provider = 'local';
  readonly modelId: string;
  readonly #options: GeneratorOptions;
  readonly #log: Logger;
  #status: GeneratorStatus = { state: 'absent' };
  #loaded: Loaded | undefined;
  readonly #loading: Promise<void>;
  /** Requests run one at a time on the one session; this is the tail of that queue. */
  #queue: Promise<unknown> = Promise.resolve();
  #prefixes: PrefixEntry[] = [];

  private constructor(options: GeneratorOptions) {
    this.#options = options;
    this.modelId = options.name ?? options.model;
    this.#log = (options.logger ?? silentLogger).child({ module: 'generator', model: options.model });
    this.#loading = this.#load().catch((error: unknown) => {
      const err = error instanceof Error ? error : new Error(String(error));
      this.#status = { state: 'failed', reason: err.message, error: err };
      this.#log.error({ error: err.message }, 'model failed to load');
    });
  }

  /** Creates a generator at once; the model loads in the background (see `status` and `ready()`). */
  static create(options: GeneratorOptions): Generator {
    return new Generator(options);
  }

  /** Creates a generator and waits until its model is ready; throws if it cannot load. */
  static async load(options: GeneratorOptions): Promise<Generator> {
    const generator = new Generator(options);
    await generator.ready();
    return generator;
  }

  /** Where the model is: absent, downloading, loading, ready or failed (with the reason). */
  get status(): GeneratorStatus {
    return this.#status;
  }

  /** Resolves when the model is ready; rejects with the load error if it failed. */
  async ready(): Promise<void> {
    await this.#loading;
    if (this.#status.state === 'failed') throw this.#status.error;
  }

  get capabilities(): ModelCapabilities {
    const contextLength = this.#loaded?.contextLength ?? 8192;
    return {
      tools: this.#loaded ? this.#loaded.family.toolCallFormat !== 'none' : true,
      streaming: true,
      vision: false,
      contextLength,
      maxOutputTokens: Math.min(4096, contextLength),
    };
  }

  /** The tokenizer and chat template (once loaded). */
  get tokenizer(): ChatTokenizer {
    return this.#require().tokenizer;
  }

  /** The model family adapter in use (once loaded). */
  get family(): ModelFamily {
    return this.#require().family;
  }

  /** The directory the model was loaded from (once loaded). */
  get modelDir(): string {
    return this.#require().files.dir;
  }

  async #resolveDir(): Promise<string> {
    const { model, revision = 'main', cacheDir = defaultCacheDir() } = this.#options;
    try {
      if ((await stat(model)).isDirectory()) return model;
    } catch {
      // Not a directory: a repository id.
    }
    if (!isRepoId(model)) {
      throw new ModelNotFoundError(
        `"${model}" is neither a model directory nor a Hugging Face repository id like "Org/Name".`,
      );
    }
    const cached = await snapshotDir(model, revision, cacheDir);
    if (cached) return cached;
    if (!this.#options.download) {
      throw new ModelNotFoundError(
        `The model ${model} is not in the cache (${cacheDir}). Download it with \`shammah models pull ${model}\`, ` +
          'or set HF_HOME / HF_HUB_CACHE to where it is.',
      );
    }
    this.#status = { state: 'downloading', progress: 0 };
    return downloadModel({
      repoId: model,
      revision,
      cacheDir,
      variant: this.#options.variant ?? 'auto',
      logger: this.#log,
      onProgress: (progress) => {
        this.#status = { state: 'downloading', progress: progress.fraction, file: progress.file };
        this.#options.onDownloadProgress?.(progress);
      },
    });
  }

  async #load(): Promise<void> {
    const dir = await this.#resolveDir();
    this.#status = { state: 'loading' };
    const started = performance.now();
    const files = await readModelFiles(dir);
    const family = familyOf(files.config);
    if (!family) {
      throw new UnsupportedModelError(
        `The model in ${dir} is a "${files.config.model_type}" model; Shammah runs ${supportedModelTypes().join(', ')}.`,
      );
    }
    const tokenizer = new ChatTokenizer(files, family);
    const { variant, path } = chooseVariant(files, this.#options.variant);
    const batchSize = this.#options.batchSize ?? 1;
    const contextLimit = files.config.max_position_embeddings ?? family.defaultContextLength;
    const sessionOptions = {
      ...(this.#options.executionProviders ? { executionProviders: this.#options.executionProviders } : {}),
      ...(this.#options.threads ? { intraOpThreads: this.#options.threads } : {}),
      ...(batchSize > 1
        ? {
            batching: {
              slots: batchSize,
              slotCapacity: Math.min(this.#options.batchSlotCapacity ?? 2048, contextLimit),
            },
          }
        : {}),
      logger: this.#log,
    };
    const session: Decoder =
      this.#options.sessionThread === false
        ? await DecoderSession.open(path, files.config, sessionOptions)
        : await ThreadedDecoder.open(path, files.config, sessionOptions);
    const stopIds = new Set<number>([
      ...asArray(files.generationConfig.eos_token_id),
      ...asArray(files.config.eos_token_id),
    ]);
    for (const text of family.stopTokens) {
      const id = tokenizer.tokenId(text);
      if (id !== undefined) stopIds.add(id);
    }
    const contextLength = files.config.max_position_embeddings ?? family.defaultContextLength;
    this.#loaded = { files, family, tokenizer, session, variant, stopIds, contextLength };
    this.#status = {
      state: 'ready',
      variant,
      executionProvider: session.executionProvider,
      batchSize: Math.min(batchSize, session.batchSlots),
    };
    this.#log.info({ dir, variant, ms: Math.round(performance.now() - started) }, 'model ready');
  }

  #require(): Loaded {
    if (this.#loaded) return this.#loaded;
    const status = this.#status;
    throw new ModelNotReadyError(
      status.state === 'failed'
        ? `The local model failed to load: ${status.reason}`
        : `The local model is not ready yet (${status.state}). Wait for ready() or check status.`,
    );
  }

  /** Runs `task` when the requests before it are done. */
  #exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#queue.then(task, task);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  /** Generations running now (batching on), and those waiting for a free place. */
  #running = new Set<Promise<unknown>>();
  #waiting: Array<() => void> = [];

  /** Runs a generation: one at a time, or up to `batchSize` side by side. */
  #generation<T>(task: () => Promise<T>): Promise<T> {
    // A graph that cannot batch runs its requests one after another whatever was asked.
    const size = Math.min(this.#options.batchSize ?? 1, this.#loaded?.session.batchSlots ?? 1);
    if (size <= 1) return this.#exclusive(task);
    const start = async (): Promise<T> => {
      while (this.#running.size >= size) await new Promise<void>((resolve) => this.#waiting.push(resolve));
      await this.#queue;
      const run = task();
      this.#running.add(run);
      try {
        return await run;
      } finally {
        this.#running.delete(run);
        this.#waiting.shift()?.();
      }
    };
    return start();
  }

  #pendingSteps: Array<{
    id: number;
    cache: DecoderCache;
    resolve: (logits: Float32Array) => void;
    reject: (error: unknown) => void;
  }> = [];
  /** Generations past their prompt, stepping token by token (batching on). */
  #decoding = 0;

  #batching(session: Decoder): boolean {
    return session.batchSlots > 1 && (this.#options.batchSize ?? 1) > 1;
  }

  /**
   * One decode step. With batching on, a step waits until every generation that is decoding has
   * asked for its own, then all of them run as one batch and each gets logits of its own. Waiting
   * for the others keeps the sequences in step: answered one by one, they would drift apart and
   * never share a run again.
   */
  #step(session: Decoder, id: number, cache: DecoderCache): Promise<Float32Array> {
    if (!this.#batching(session)) return session.forward([id], cache);
    return new Promise((resolve, reject) => {
      this.#pendingSteps.push({ id, cache, resolve, reject });
      this.#flush(session);
    });
  }

  /** Runs the waiting steps once every decoding generation has asked for one. */
  #flush(session: Decoder): void {
    if (this.#pendingSteps.length === 0 || this.#pendingSteps.length < this.#decoding) return;
    const steps = this.#pendingSteps.splice(0);
    session.forwardEach(steps).then(
      (rows) => {
        steps.forEach((step, index) => {
          step.resolve(rows[index]!);
        });
      },
      (error: unknown) => {
        for (const step of steps) step.reject(error);
      },
    );
  }

  #takePrefix(
    prompt: readonly number[],
    session: Decoder,
    maxTokens: number,
  ): { cache: DecoderCache; reused: number } {
    let best = -1;
    let bestLength = 0;
    this.#prefixes.forEach((entry, index) => {
      const length = commonPrefix(entry.tokens, prompt);
      if (length > bestLength) {
        best = index;
        bestLength = length;
      }
    });
    if (best === -1) {
      const evicted =
        this.#prefixes.length >= (this.#options.prefixCacheSize ?? 1) ? this.#prefixes.shift() : undefined;
      // Reuse an evicted cache's buffers rather than allocating new ones.
      // Room for the whole answer from the start: memory the answer never reaches is never touched
      // (so costs nothing), and the cache never has to grow and copy itself mid-answer.
      const cache = evicted?.cache ?? session.createCache(Math.max(256, prompt.length + maxTokens + 1));
      cache.truncate(0);
      if (evicted) session.setBatching(cache, true);
      return { cache, reused: 0 };
    }
    const [entry] = this.#prefixes.splice(best, 1);
    // At least one prompt token must be fed to get the next token's logits.
    const reused = Math.min(bestLength, prompt.length - 1);
    entry!.cache.truncate(reused);
    session.setBatching(entry!.cache, true);
    return { cache: entry!.cache, reused };
  }

  #keepPrefix(tokens: number[], cache: DecoderCache): void {
    // An idle cache gives its batch slot back; it takes one again when its conversation goes on.
    this.#loaded?.session.setBatching(cache, false);
    this.#prefixes.push({ tokens, cache });
    while (this.#prefixes.length > (this.#options.prefixCacheSize ?? 1))
      this.#prefixes.shift()!.cache.release();
  }

  /** Drops the kept KV caches (for example after switching adapters). */
  clearPrefixCache(): void {
    for (const entry of this.#prefixes) entry.cache.release();
    this.#prefixes = [];
  }

  /**
   * Generates from prompt token ids, one event per token, ending with a `done` event. The lowest
   * level of generation: `stream()` renders the chat template and calls this.
   */
  generateTokens(promptIds: readonly number[], options: GenerationOptions = {}): AsyncIterable<TokenEvent> {
    const self = this;
    return {
      [Symbol.asyncIterator]() {
        const events: TokenEvent[] = [];
        let wake: (() => void) | undefined;
        let finished = false;
        let failure: unknown;
        const push = (event: TokenEvent) => {
          events.push(event);
          wake?.();
        };
        const work = self
          .#generation(() => self.#generate(promptIds, options, push))
          .then(
            () => {
              finished = true;
              wake?.();
            },
            (error: unknown) => {
              failure = error;
              finished = true;
              wake?.();
            },
          );
        void work;
        return {
          async next(): Promise<IteratorResult<TokenEvent>> {
            while (events.length === 0 && !finished) {
              await new Promise<void>((resolve) => {
                wake = resolve;
              });
              wake = undefined;
            }
            if (events.length > 0) return { value: events.shift()!, done: false };
            if (failure !== undefined) throw failure;
            return { value: undefined, done: true };
          },
          async return(): Promise<IteratorResult<TokenEvent>> {
            // The consumer stopped reading: end the generation at the next step.
            finished = true;
            abandoned.add(push);
            return { value: undefined, done: true };
          },
        };
      },
    };
  }

  async #generate(
    promptIds: readonly number[],
    options: GenerationOptions,
    emit: (event: TokenEvent) => void,
  ): Promise<void> {
    const loaded = this.#require();
    const { session, tokenizer, contextLength } = loaded;
    const prompt = [...promptIds];
    if (prompt.length === 0) throw new RangeError('The prompt is empty: give at least one token.');
    if (prompt.length >= contextLength) throw new ContextLengthError(prompt.length, contextLength);
    const room = contextLength - prompt.length;
    const maxTokens = Math.max(0, Math.min(options.maxTokens ?? Math.min(4096, room), room));
    const plan = planSampling(options, loaded.files.generationConfig);
    const random = new SeededRandom(options.seed);
    const stopIds = new Set([...(options.ignoreEos ? [] : loaded.stopIds), ...(options.stopTokenIds ?? [])]);
    const streamer = new TextStreamer((ids) => tokenizer.decode(ids), options.stop ?? []);
    const tokens = prompt.slice();
    const counts = new Map<number, number>();
    const state: GenerationState = {
      tokens,
      get generatedCount() {
        return tokens.length - prompt.length;
      },
      generatedCounts: counts,
    };
    const started = performance.now();
    const { cache, reused } = this.#takePrefix(prompt, session, maxTokens);
    let finishReason: 'stop' | 'length' | 'abort' = 'length';
    let firstTokenAt = 0;
    let prefillMs = 0;
    const batching = this.#batching(session);
    let decodingCounted = false;
    let generated = 0;
    try {
      const chunk = this.#options.prefillChunk ?? 512;
      let logits: Float32Array | undefined;
      for (let offset = reused; offset < prompt.length; offset += chunk) {
        if (options.signal?.aborted || abandoned.has(emit)) break;
        logits = await session.forward(prompt.slice(offset, offset + chunk), cache);
      }
      prefillMs = performance.now() - started;
      if (batching) this.#decoding++;
      decodingCounted = batching;
      while (logits && generated < maxTokens) {
        if (options.signal?.aborted || abandoned.has(emit)) {
          finishReason = 'abort';
          break;
        }
        const raw = options.logprobs ? logits.slice() : undefined;
        for (const processor of plan.processors) processor(logits, state);
        const id = plan.greedy ? argmax(logits) : sample(logits, plan, random);
        if (generated === 0) firstTokenAt = performance.now();
        generated++;
        if (stopIds.has(id)) {
          finishReason = 'stop';
          break;
        }
        tokens.push(id);
        counts.set(id, (counts.get(id) ?? 0) + 1);
        const text = streamer.push(id);
        emit({ type: 'token', id, text, ...(raw ? { logprob: logSoftmaxAt(raw, id) } : {}) });
        if (streamer.stoppedBy !== undefined) {
          finishReason = 'stop';
          break;
        }
        if (generated >= maxTokens) break;
        logits = await this.#step(session, id, cache);
      }
      if (!logits && (options.signal?.aborted || abandoned.has(emit))) finishReason = 'abort';
      const rest = streamer.flush();
      if (rest) emit({ type: 'token', id: -1, text: rest });
    } finally {
      if (decodingCounted) {
        // One generation fewer to wait for: the others' steps may be able to run now.
        this.#decoding--;
        this.#flush(session);
      }
      // The cache holds every token fed so far; keep it for the next turn's shared prefix.
      this.#keepPrefix(tokens.slice(0, cache.length), cache);
      abandoned.delete(emit);
    }
    const ended = performance.now();
    const decodeMs = firstTokenAt ? ended - firstTokenAt : 0;
    const fed = prompt.length - reused;
    emit({
      type: 'done',
      finishReason,
      ...(streamer.stoppedBy !== undefined ? { stopSequence: streamer.stoppedBy } : {}),
      promptTokens: prompt.length,
      completionTokens: generated,
      cachedPromptTokens: reused,
      timings: {
        timeToFirstTokenMs: (firstTokenAt || ended) - started,
        totalMs: ended - started,
        ...(prefillMs > 0 && fed > 0 ? { prefillTokensPerSecond: (fed / prefillMs) * 1000 } : {}),
        ...(generated > 1 && decodeMs > 0
          ? { decodeTokensPerSecond: ((generated - 1) / decodeMs) * 1000 }
          : {}),
      },
    });
  }

  /** Streams an answer to a conversation. */
  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    await this.ready().catch((error: unknown) => {
      throw new ModelNotReadyError(`The local model is not available: ${(error as Error).message}`, {
        cause: error,
      });
    });
    const loaded = this.#require();
    const prompt = loaded.tokenizer.encodeChat(request.messages, request.tools);
    const options: GenerationOptions = {
      ...(request.maxTokens !== undefined ? { maxTokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { topP: request.topP } : {}),
      ...(request.topK !== undefined ? { topK: request.topK } : {}),
      ...(request.stop ? { stop: request.stop } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.logprobs ? { logprobs: true } : {}),
      ...(request.signal ? { signal: request.signal } : {}),
      ...((request.providerOptions?.local ?? {}) as GenerationOptions),
    };
    for await (const event of this.generateTokens(prompt, options)) {
      if (event.type === 'token') {
        if (event.text) yield { type: 'text-delta', text: event.text };
        if (event.logprob !== undefined) {
          const logprob: TokenLogprob = {
            token: loaded.tokenizer.decode([event.id], true),
            logprob: event.logprob,
          };
          yield { type: 'logprobs', logprobs: [logprob] };
        }
      } else {
        yield {
          type: 'finish',
          finishReason: event.finishReason,
          ...(event.stopSequence !== undefined ? { stopSequence: event.stopSequence } : {}),
          usage: {
            inputTokens: event.promptTokens,
            outputTokens: event.completionTokens,
            cachedInputTokens: event.cachedPromptTokens,
          },
          timings: event.timings,
          modelId: this.modelId,
        };
      }
    }
  }

  /** The whole answer to a conversation. */
  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }

  /**
   * Teacher-forced scoring: the log-probability the model gives each token of `continuation`
   * after `prompt`. Used to check quality and to measure what training changed.
   */
  scoreContinuation(prompt: readonly number[], continuation: readonly number[]): Promise<number[]> {
    return this.#exclusive(async () => {
      const { session } = this.#require();
      const cache = session.createCache(prompt.length + continuation.length);
      const ids = [...prompt, ...continuation];
      const logits = await session.forward(ids, cache, true).finally(() => cache.release());
      const vocab = session.layout.vocabSize;
      return continuation.map((id, index) => {
        const row = logits.subarray((prompt.length - 1 + index) * vocab, (prompt.length + index) * vocab);
        return logSoftmaxAt(row, id);
      });
    });
  }

  /** Logits for every position of `ids`, run in one pass with an empty cache ([ids.length × vocab]). */
  logits(ids: readonly number[]): Promise<Float32Array> {
    return this.#exclusive(async () => {
      const { session } = this.#require();
      const cache = session.createCache(ids.length);
      return session.forward(ids, cache, true).finally(() => cache.release());
    });
  }

  /** Frees the model. */
  async dispose(): Promise<void> {
    await this.#loading;
    await this.#queue;
    await Promise.allSettled([...this.#running]);
    this.clearPrefixCache();
    await this.#loaded?.session.release();
    this.#loaded = undefined;
    this.#status = { state: 'absent' };
  }
}

/** Emitters whose consumer stopped reading; their generation ends at the next step. */
const abandoned = new WeakSet<(event: TokenEvent) => void>();
