import type { GraphLayout } from './decoder-session.js';

/** The key/value cache of one sequence, as the generation loop sees it. */
export interface DecoderCache {
  /** Positions the cache holds. */
  readonly length: number;
  /** Forgets every position from `length` on (for reusing a shared prefix). */
  truncate(length: number): void;
  /** Frees the cache's memory; the cache must not be used afterwards. */
  release(): void;
}

/**
 * A decoder graph that runs steps of a sequence against a KV cache. Two implementations: the
 * `DecoderSession` runs on the calling thread; the `ThreadedDecoder` runs it on a thread of its own.
 */
export interface Decoder<Cache extends DecoderCache = DecoderCache> {
  readonly layout: GraphLayout;
  /** The execution provider the graph runs on. */
  readonly executionProvider: string;
  /** An empty cache with room for `capacity` positions (it grows when needed). */
  createCache(capacity: number): Cache;
  /**
   * Feeds `ids` after what `cache` holds and returns the logits. With `allPositions` every
   * position's row is returned ([ids.length × vocab]); otherwise only the last row, which the
   * caller may read (and change) until the next call.
   */
  forward(ids: readonly number[], cache: Cache, allPositions?: boolean): Promise<Float32Array>;
  /** Puts a cache in the batch (when a slot is free) or takes it out; nothing when the decoder does not batch. */
  setBatching(cache: Cache, member: boolean): void;
  /** Sequences one run can step together (1 when the decoder does not batch). */
  readonly batchSlots: number;
  /**
   * Feeds one token to each of several sequences — in one run where their caches allow — and
   * returns each one's logits in an array of its own.
   */
  forwardEach(steps: ReadonlyArray<{ id: number; cache: Cache }>): Promise<Float32Array[]>;
  /** Frees the graph. */
  release(): Promise<void>;
}
