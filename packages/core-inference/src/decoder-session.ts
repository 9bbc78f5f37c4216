import { type FileHandle, open } from 'node:fs/promises';
import type { Decoder } from './decoder.js';
import { CorruptModelError, OutOfMemoryError, UnsupportedModelError } from './errors.js';
import { KvCache, type KvLayout, KvSlab, SharedKvCache } from './kv-cache.js';
import type { ModelConfig } from './model-files.js';
import {
  createTensor,
  disposeTensor,
  openSession,
  type RuntimeSession,
  type RuntimeSessionOptions,
  type RuntimeTensor,
  type ValueInfo,
} from './onnx-runtime.js';

/**
 * How a graph wants its inputs. Two layouts exist in the wild: the optimum/onnx-community export
 * takes `position_ids`; the onnxruntime-genai builder's fused graph derives positions from the
 * attention mask. Everything else (KV names and shapes, mask type) is read from the graph itself.
 */
export interface GraphLayout {
  readonly kv: KvLayout;
  readonly takesPositionIds: boolean;
  readonly maskType: 'int64' | 'int32';
  readonly idsType: 'int64' | 'int32';
  /** `logits_to_keep` / `num_logits_to_keep` input, when the graph can return only the last row. */
  readonly logitsToKeepInput: string | undefined;
  readonly logitsType: 'float32' | 'float16';
  readonly vocabSize: number;
  /**
   * The KV cache is one buffer per tensor, fed as both past and present, that the attention
   * appends to in place (GroupQueryAttention's shared-buffer mode, on a runtime that writes
   * outputs in place). Otherwise each step's present is a new compact copy of past plus the step.
   */
  readonly sharedKvBuffer: boolean;
}

function findInput(inputs: readonly ValueInfo[], name: string): ValueInfo | undefined {
  return inputs.find((input) => input.name === name);
}

function intType(info: ValueInfo | undefined): 'int64' | 'int32' {
  return info?.type === 'int32' ? 'int32' : 'int64';
}

/** Reads the graph layout from the session's inputs and outputs, cross-checked with config.json. */
export function detectLayout(
  session: Pick<RuntimeSession, 'inputs' | 'outputs'>,
  config: ModelConfig,
): GraphLayout {
  const { inputs, outputs } = session;
  const ids = findInput(inputs, 'input_ids');
  if (!ids) {
    throw new UnsupportedModelError(
      `The graph has no "input_ids" input (it has ${inputs.map((input) => input.name).join(', ')}): ` +
        'it is not a decoder-only text model Shammah can run.',
    );
  }
  const pairs: Array<readonly [string, string]> = [];
  for (const input of inputs) {
    const match = /^past_key_values\.(\d+)\.(key|value)$/.exec(input.name);
    if (!match) continue;
    const present = `present.${match[1]}.${match[2]}`;
    if (!outputs.some((output) => output.name === present)) {
      throw new UnsupportedModelError(`The graph takes ${input.name} but has no ${present} output.`);
    }
    pairs.push([input.name, present]);
  }
  if (pairs.length === 0) {
    throw new UnsupportedModelError(
      'The graph has no past_key_values inputs: it was exported without a KV cache. ' +
        'Export it with the text-generation-with-past task.',
    );
  }
  const firstPast = findInput(inputs, pairs[0]![0])!;
  const heads = firstPast.shape[1];
  const dim = firstPast.shape[3];
  const kvHeads =
    typeof heads === 'number' ? heads : (config.num_key_value_heads ?? config.num_attention_heads ?? 0);
  const headDim =
    typeof dim === 'number'
      ? dim
      : (config.head_dim ?? (config.hidden_size ?? 0) / (config.num_attention_heads ?? 1));
  if (!kvHeads || !headDim) {
    throw new UnsupportedModelError('Could not tell the KV cache shape from the graph or config.json.');
  }
  const logits = outputs.find((output) => output.name === 'logits');
  if (!logits) throw new UnsupportedModelError('The graph has no "logits" output.');
  const vocab = logits.shape[2];
  const vocabSize = typeof vocab === 'number' ? vocab : (config.vocab_size ?? 0);
  if (!vocabSize)
    throw new UnsupportedModelError('Could not tell the vocabulary size from the graph or config.json.');
  const logitsToKeepInput = ['logits_to_keep', 'num_logits_to_keep'].find((name) => findInput(inputs, name));
  return {
    kv: {
      pairs,
      kvHeads,
      headDim,
      dtype: firstPast.type === 'float16' ? 'float16' : 'float32',
    },
    takesPositionIds: findInput(inputs, 'position_ids') !== undefined,
    maskType: intType(findInput(inputs, 'attention_mask')),
    idsType: intType(ids),
    logitsToKeepInput,
    logitsType: logits.type === 'float16' ? 'float16' : 'float32',
    vocabSize,
    sharedKvBuffer: false,
  };
}

/**
 * Whether the ONNX file uses GroupQueryAttention (whose CPU kernel can share past and present).
 * Read in small chunks, stopping at the first mention (the nodes usually precede the weights), so
 * a large graph file is never held in memory twice.
 */
export async function usesGroupQueryAttention(path: string): Promise<boolean> {
  const needle = Buffer.from('GroupQueryAttention');
  let file: FileHandle | undefined;
  try {
    file = await open(path, 'r');
    const chunk = Buffer.alloc(1 << 20);
    let carry = Buffer.alloc(0);
    for (;;) {
      const { bytesRead } = await file.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) return false;
      const window = Buffer.concat([carry, chunk.subarray(0, bytesRead)]);
      if (window.includes(needle)) return true;
      carry = window.subarray(Math.max(0, window.length - needle.length + 1));
    }
  } catch {
    return false;
  } finally {
    await file?.close();
  }
}

function intTensor(type: 'int64' | 'int32', values: ArrayLike<number>, dims: number[]): RuntimeTensor {
  if (type === 'int32') return createTensor('int32', Int32Array.from(values), dims);
  const data = new BigInt64Array(values.length);
  for (let i = 0; i < values.length; i++) data[i] = BigInt(values[i]!);
  return createTensor('int64', data, dims);
}

function halfToFloat(half: number): number {
  const sign = half & 0x8000 ? -1 : 1;
  const exponent = (half >> 10) & 0x1f;
  const fraction = half & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction ? Number.NaN : sign * Number.POSITIVE_INFINITY;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

/** Turns the runtime's load failures into errors that say what to do. */
export function explainLoadError(path: string, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error);
  if (/bad_alloc|Failed to allocate|out of memory|ENOMEM/i.test(text)) {
    return new OutOfMemoryError(
      `Not enough memory to load ${path}. Close other programs, or pick a smaller model or a quantized variant (q4).`,
      { cause: error },
    );
  }
  if (
    /protobuf|parsing failed|invalid model|Load model .* failed|model_path must not be empty|ModelProto|No such file/i.test(
      text,
    )
  ) {
    return new CorruptModelError(
      `${path} could not be read as an ONNX model (${text.split('\n')[0]}). The file is damaged or incomplete: remove the model (shammah models rm) and download it again.`,
      { cause: error },
    );
  }
  if (/not a registered function|Could not find an implementation|opset/i.test(text)) {
    return new UnsupportedModelError(
      `${path} uses an operator this ONNX Runtime cannot run (${text.split('\n')[0]}). Update Shammah, or use another export of the model.`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new Error(text);
}

/**
 * One open decoder graph on the calling thread: runs steps of a sequence against its KV cache.
 * `session.run` is synchronous in onnxruntime-node, so each step holds the thread it runs on.
 */
type SessionCache = KvCache | SharedKvCache;

/** Decoding several sequences in one run. */
export interface BatchingOptions {
  /** Sequences that can be stepped together (their caches live side by side in one slab). */
  slots: number;
  /** Positions each slot holds; a longer sequence moves out of the slab and runs on its own. */
  slotCapacity: number;
}

export class DecoderSession implements Decoder<SessionCache> {
  readonly layout: GraphLayout;
  readonly #session: RuntimeSession;
  /** The decode step's logits output, written in place every step. */
  readonly #stepLogits: Float32Array;
  /** The step logits bound once to the runtime. */
  readonly #stepLogitsTensor: RuntimeTensor;
  /** Ones for the attention mask: views of it are fed, so no mask is built per step. */
  #maskOnes: BigInt64Array | Int32Array;

  /** Where the caches of sequences that can be stepped together live (batching on). */
  readonly #slab: KvSlab | undefined;

  private constructor(session: RuntimeSession, layout: GraphLayout, batching?: BatchingOptions) {
    this.#session = session;
    this.layout = layout;
    this.#slab =
      batching && batching.slots > 1 && layout.sharedKvBuffer
        ? new KvSlab(layout.kv, batching.slots, batching.slotCapacity)
        : undefined;
    this.#stepLogits = new Float32Array(layout.vocabSize);
    this.#stepLogitsTensor = createTensor('float32', this.#stepLogits, [1, 1, layout.vocabSize], true);
    this.#maskOnes =
      layout.maskType === 'int32' ? new Int32Array(1024).fill(1) : new BigInt64Array(1024).fill(1n);
  }

  /** Opens the ONNX file and reads its layout. */
  static async open(
    path: string,
    config: ModelConfig,
    options: RuntimeSessionOptions & { batching?: BatchingOptions } = {},
  ): Promise<DecoderSession> {
    let session: RuntimeSession;
    try {
      session = await openSession(path, options);
    } catch (error) {
      throw explainLoadError(path, error);
    }
    try {
      const layout = detectLayout(session, config);
      const sharedKvBuffer =
        session.writesOutputsInPlace && !layout.takesPositionIds && (await usesGroupQueryAttention(path));
      return new DecoderSession(session, { ...layout, sharedKvBuffer }, options.batching);
    } catch (error) {
      await session.release();
      throw error;
    }
  }

  get executionProvider(): string {
    return this.#session.executionProvider;
  }

  /** How the runtime is called (`c-api` writes outputs in place; `onnxruntime-node` copies them). */
  get binding(): string {
    return this.#session.binding;
  }

  /** Runs that stepped more than one sequence (for diagnostics and tests). */
  batchedRuns = 0;

  /**
   * Puts a cache in the batch (into a free slab slot, if there is one) or takes it out (its rows
   * move to memory of its own and the slot is free for another sequence): a cache kept idle for a
   * later turn should not hold a slot.
   */
  setBatching(cache: SessionCache, member: boolean): void {
    const slab = this.#slab;
    if (!slab || !(cache instanceof SharedKvCache)) return;
    if (!member) {
      cache.moveOut();
      return;
    }
    if (cache.slot) return;
    const slot = slab.acquire();
    if (slot && !cache.moveInto(slot)) slot.vacate();
  }

  /** Sequences that can be stepped in one run (1 when batching is off or the graph cannot batch). */
  get batchSlots(): number {
    return this.#slab?.slots ?? 1;
  }

  createCache(capacity: number): SessionCache {
    if (!this.layout.sharedKvBuffer) return new KvCache(this.layout.kv, capacity);
    // A free slot whatever room is asked for: a sequence leaves the slab only if it really outgrows it.
    const slot = this.#slab?.acquire();
    return new SharedKvCache(this.layout.kv, capacity, slot);
  }

  /**
   * Feeds one token to each of several sequences and returns each one's logits (arrays of their
   * own). Sequences whose caches share this session's slab run as one batch: one run for all of
   * them. The others run one after another.
   */
  async forwardEach(steps: ReadonlyArray<{ id: number; cache: SessionCache }>): Promise<Float32Array[]> {
    const slab = this.#slab;
    const results: Float32Array[] = new Array(steps.length);
    const batched: number[] = [];
    steps.forEach((step, index) => {
      const cache = step.cache;
      if (
        slab &&
        cache instanceof SharedKvCache &&
        cache.slot?.slab === slab &&
        cache.length < slab.capacity
      ) {
        batched.push(index);
      }
    });
    // A full slot that is not stepping could not take the batch's throwaway write: run one by one.
    const blocked = slab?.occupants.some(
      (occupant) =>
        occupant && occupant.length >= slab.capacity && !steps.some((step) => step.cache === occupant),
    );
    if (slab && batched.length > 1 && !blocked) {
      const logits = await this.#forwardBatch(
        slab,
        batched.map((index) => steps[index]!),
      );
      batched.forEach((index, row) => {
        results[index] = logits[row]!;
      });
    }
    for (let index = 0; index < steps.length; index++) {
      if (results[index]) continue;
      results[index] = (await this.forward([steps[index]!.id], steps[index]!.cache)).slice();
    }
    return results;
  }

  async #forwardBatch(
    slab: KvSlab,
    steps: ReadonlyArray<{ id: number; cache: SessionCache }>,
  ): Promise<Float32Array[]> {
    const { layout } = this;
    const vocab = layout.vocabSize;
    const stepping = new Map<number, { id: number; cache: SharedKvCache }>();
    for (const step of steps) {
      const cache = step.cache as SharedKvCache;
      stepping.set(cache.slot!.index, { id: step.id, cache });
    }
    const rows = Math.max(...stepping.keys()) + 1;
    // Each row's new position is the count of ones in its mask row minus one: a stepping sequence
    // writes at its length; a slot that is not stepping gets a throwaway token written just past
    // what it holds (or at 0 when free), which its next real step overwrites.
    const totals: number[] = [];
    for (let row = 0; row < rows; row++) {
      const step = stepping.get(row);
      const occupant = slab.occupants[row];
      totals.push((step ? step.cache.length : Math.min(occupant?.length ?? 0, slab.capacity - 1)) + 1);
    }
    const width = Math.max(...totals);
    const mask = layout.maskType === 'int32' ? new Int32Array(rows * width) : new BigInt64Array(rows * width);
    totals.forEach((total, row) => {
      if (mask instanceof Int32Array) mask.fill(1, row * width, row * width + total);
      else mask.fill(1n, row * width, row * width + total);
    });
    const ids = Array.from({ length: rows }, (_, row) => stepping.get(row)?.id ?? 0);
    const kv = slab.stepTensors(rows);
    const logits = new Float32Array(rows * vocab);
    const feeds: Record<string, RuntimeTensor> = {
      input_ids: intTensor(layout.idsType, ids, [rows, 1]),
      attention_mask: createTensor(layout.maskType, mask, [rows, width]),
      ...kv.feeds,
    };
    if (layout.logitsToKeepInput)
      feeds[layout.logitsToKeepInput] = createTensor('int64', BigInt64Array.of(1n), []);
    await this.#session.run(feeds, {
      logits: createTensor('float32', logits, [rows, 1, vocab]),
      ...kv.fetches,
    });
    this.batchedRuns++;
    return steps.map((step) => {
      const cache = step.cache as SharedKvCache;
      const row = cache.slot!.index;
      cache.commit(cache.length + 1);
      return logits.slice(row * vocab, (row + 1) * vocab);
    });
  }

  #mask(total: number): RuntimeTensor {
    if (this.#maskOnes.length < total) {
      let size = this.#maskOnes.length;
      while (size < total) size *= 2;
      this.#maskOnes =
        this.layout.maskType === 'int32' ? new Int32Array(size).fill(1) : new BigInt64Array(size).fill(1n);
    }
    return createTensor(this.layout.maskType, this.#maskOnes.subarray(0, total), [1, total]);
  }

  async forward(ids: readonly number[], cache: SessionCache, allPositions = false): Promise<Float32Array> {
    const past = cache.length;
    const total = past + ids.length;
    const { layout } = this;
    const kv =
      cache instanceof SharedKvCache
        ? cache.stepTensors(total)
        : { feeds: cache.pastFeeds(), fetches: cache.presentFetches(total) };
    const feeds: Record<string, RuntimeTensor> = {
      input_ids: intTensor(layout.idsType, ids, [1, ids.length]),
      attention_mask: this.#mask(total),
      ...kv.feeds,
    };
    if (layout.takesPositionIds) {
      const positions = Array.from({ length: ids.length }, (_, index) => past + index);
      feeds.position_ids = intTensor('int64', positions, [1, ids.length]);
    }
    const keepLast = !allPositions && ids.length > 1 && layout.logitsToKeepInput !== undefined;
    if (layout.logitsToKeepInput) {
      feeds[layout.logitsToKeepInput] = createTensor(
        'int64',
        BigInt64Array.of(keepLast || ids.length === 1 ? 1n : 0n),
        [],
      );
    }
    // With batching on, sequences run side by side and each call gets logits of its own; otherwise
    // a step's logits are written into the one step buffer.
    const single = ids.length === 1 && layout.logitsType === 'float32' && !this.#slab;
    const fetches: Record<string, RuntimeTensor | null> = {
      logits: single ? this.#stepLogitsTensor : this.#rowsOutput(ids.length, keepLast),
      ...kv.fetches,
    };
    let outputs: Record<string, RuntimeTensor> | undefined;
    try {
      outputs = await this.#session.run(feeds, fetches);
      cache.commit(total);
      if (single) return this.#stepLogits;
      // Rows written into memory of our own are handed over as they are.
      if ((allPositions || ids.length === 1) && fetches.logits) return fetches.logits.data as Float32Array;
      return this.#readLogits(outputs.logits!, ids.length, allPositions);
    } finally {
      if (outputs && !single) disposeTensor(outputs.logits);
    }
  }

  /**
   * Where a run of several positions writes its logits: memory of our own when the runtime writes
   * outputs in place (the runtime's own output would be copied once more), else the runtime's.
   */
  #rowsOutput(count: number, keepLast: boolean): RuntimeTensor | null {
    if (!this.#session.writesOutputsInPlace || this.layout.logitsType !== 'float32') return null;
    const rows = keepLast || count === 1 ? 1 : count;
    const vocab = this.layout.vocabSize;
    return createTensor('float32', new Float32Array(rows * vocab), [1, rows, vocab]);
  }

  #readLogits(tensor: RuntimeTensor, count: number, allPositions: boolean): Float32Array {
    const vocab = this.layout.vocabSize;
    const rows = tensor.dims[1] ?? count;
    const data = tensor.data as Float32Array | Uint16Array;
    const start = allPositions ? 0 : (rows - 1) * vocab;
    const length = allPositions ? rows * vocab : vocab;
    const out = allPositions || this.#slab ? new Float32Array(length) : this.#stepLogits;
    if (data instanceof Float32Array) out.set(data.subarray(start, start + length));
    else for (let i = 0; i < length; i++) out[i] = halfToFloat(data[start + i]!);
    return out;
  }

  async release(): Promise<void> {
    this.#stepLogitsTensor.dispose();
    this.#slab?.release();
    await this.#session.release();
  }
}
