import { stat } from 'node:fs/promises';
import { totalmem } from 'node:os';
import {
  Generator,
  isRepoId,
  type ModelConfig,
  readModelFiles,
  snapshotDir,
  WorkerGenerator,
} from '@shammah/core-inference';
import type { Logger } from '@shammah/provider';

/** Options of {@link prefixCacheSizeFor}. */
export interface PrefixCacheSizing {
  /** Sessions the daemon keeps. */
  maxSessions: number;
  /** Memory the kept KV caches may take. Default: a quarter of the machine's memory, at most 4 GiB. */
  memoryBytes?: number;
  /** Tokens a typical conversation holds. Default 2,048. */
  tokensPerSession?: number;
  /** Bytes one token's cache takes (see {@link kvBytesPerToken}). */
  bytesPerToken: number;
}

/** The default memory bound of the kept KV caches: a quarter of the machine's memory, at most 4 GiB. */
export function defaultKvCacheMemory(): number {
  return Math.min(4 * 1024 ** 3, Math.floor(totalmem() / 4));
}

/**
 * Bytes one token takes in a KV cache of this model: keys and values of every layer, in float32,
 * twice (the cache keeps two buffer sets that alternate as a step's input and output).
 */
export function kvBytesPerToken(config: ModelConfig): number {
  const layers = config.num_hidden_layers ?? 32;
  const heads = config.num_attention_heads ?? 32;
  const kvHeads = config.num_key_value_heads ?? heads;
  const headDim = config.head_dim ?? Math.floor((config.hidden_size ?? 4096) / heads);
  return 2 * layers * kvHeads * headDim * 4 * 2;
}

/**
 * How many conversations' KV caches the local model keeps for reuse: one per session, as many as fit
 * in the memory bound (at least one).
 */
export function prefixCacheSizeFor(sizing: PrefixCacheSizing): number {
  const memory = sizing.memoryBytes ?? defaultKvCacheMemory();
  const perSession = sizing.bytesPerToken * (sizing.tokensPerSession ?? 2048);
  return Math.max(1, Math.min(sizing.maxSessions, Math.floor(memory / Math.max(1, perSession))));
}

/** Options of {@link createLocalModel}. */
export interface LocalModelOptions {
  /** A Hub repository id (`HuggingFaceTB/SmolLM2-135M-Instruct`) or a model directory. */
  model: string;
  /** The model id answers report. Default: `model`. */
  name?: string;
  /** `auto`, `fp32`, `q4`, … Default `auto`. */
  variant?: string;
  /** Sessions the daemon keeps; sizes the prefix cache. Default 100. */
  maxSessions?: number;
  /** Memory bound of the kept KV caches. Default {@link defaultKvCacheMemory}. */
  kvCacheMemoryBytes?: number;
  /** The Hugging Face hub cache. */
  cacheDir?: string;
  /** Download the model when it is not cached. Default false. */
  download?: boolean;
  threads?: number;
  /**
   * Requests decoded together in one batch (GroupQueryAttention graphs, the fused variants; others
   * run one request at a time). Default 1.
   */
  batchSize?: number;
  /** Positions each batched request can hold before it leaves the batch. Default 1024. */
  batchSlotCapacity?: number;
  /**
   * Run the model on a worker thread (default true), so the server answers health checks, streams and
   * disconnects while the model computes (ONNX Runtime runs synchronously on its thread).
   */
  worker?: boolean;
  logger?: Logger;
}

async function modelConfig(options: LocalModelOptions): Promise<ModelConfig | undefined> {
  try {
    let dir: string | undefined;
    if (
      await stat(options.model).then(
        (info) => info.isDirectory(),
        () => false,
      )
    )
      dir = options.model;
    else if (isRepoId(options.model)) dir = await snapshotDir(options.model, 'main', options.cacheDir);
    return dir ? (await readModelFiles(dir)).config : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Creates the daemon's local model: a `WorkerGenerator` (or `Generator`) that loads in the background,
 * with a prefix cache sized to keep one KV cache per session within the memory bound, so each
 * conversation's next turn reuses what the model already read.
 *
 * @example
 * ```ts
 * const { generator } = await createLocalModel({ model: 'HuggingFaceTB/SmolLM2-135M-Instruct', maxSessions: 100 });
 * const daemon = createDaemon({ local: generator });
 * ```
 */
export async function createLocalModel(
  options: LocalModelOptions,
): Promise<{ generator: WorkerGenerator | Generator; prefixCacheSize: number }> {
  const maxSessions = options.maxSessions ?? 100;
  const config = await modelConfig(options);
  // Without the model's config (not downloaded yet) assume a 1.5B-class model.
  const bytesPerToken = config ? kvBytesPerToken(config) : 2 * 28 * 2 * 128 * 4 * 2;
  const prefixCacheSize = prefixCacheSizeFor({
    maxSessions,
    bytesPerToken,
    ...(options.kvCacheMemoryBytes !== undefined ? { memoryBytes: options.kvCacheMemoryBytes } : {}),
  });
  const settings = {
    model: options.model,
    ...(options.name ? { name: options.name } : {}),
    prefixCacheSize,
    ...(options.variant ? { variant: options.variant } : {}),
    ...(options.cacheDir ? { cacheDir: options.cacheDir } : {}),
    ...(options.download !== undefined ? { download: options.download } : {}),
    ...(options.threads ? { threads: options.threads } : {}),
    ...(options.batchSize && options.batchSize > 1
      ? { batchSize: options.batchSize, batchSlotCapacity: options.batchSlotCapacity ?? 1024 }
      : {}),
    ...(options.logger ? { logger: options.logger } : {}),
  };
  const generator = options.worker === false ? Generator.create(settings) : WorkerGenerator.create(settings);
  return { generator, prefixCacheSize };
}
