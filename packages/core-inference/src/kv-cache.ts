import type { DecoderCache } from './decoder.js';
import { createTensor, type RuntimeTensor } from './onnx-runtime.js';

/** Shape and names of a graph's key/value cache. */
export interface KvLayout {
  /** Pairs of (past input name, present output name), one per layer and per key/value. */
  readonly pairs: ReadonlyArray<readonly [past: string, present: string]>;
  readonly kvHeads: number;
  readonly headDim: number;
  readonly dtype: 'float32' | 'float16';
}

type KvArray = Float32Array | Uint16Array;

/**
 * The key/value cache of one sequence. Each tensor is stored compactly as [heads][positions][dim]
 * inside a buffer with room to grow; two buffer sets alternate as the step's input (past) and
 * output (present), so a decode step allocates nothing: the runtime writes `present` straight
 * into the other set, which becomes the next step's `past`.
 */
export class KvCache implements DecoderCache {
  readonly layout: KvLayout;
  /** Positions the cache holds. */
  #length = 0;
  #capacity: number;
  #sets: [KvArray[], KvArray[]];
  #current: 0 | 1 = 0;

  constructor(layout: KvLayout, initialCapacity = 256) {
    this.layout = layout;
    this.#capacity = Math.max(1, initialCapacity);
    this.#sets = [this.#allocate(this.#capacity), this.#allocate(this.#capacity)];
  }

  get length(): number {
    return this.#length;
  }

  /** Bytes held by the cache's buffers. */
  get byteSize(): number {
    return this.#sets.reduce(
      (sum, set) => sum + set.reduce((total, array) => total + array.byteLength, 0),
      0,
    );
  }

  #perPosition(): number {
    return this.layout.kvHeads * this.layout.headDim;
  }

  #allocate(capacity: number): KvArray[] {
    const size = capacity * this.#perPosition();
    return this.layout.pairs.map(() =>
      this.layout.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size),
    );
  }

  #view(array: KvArray, length: number): RuntimeTensor {
    const { kvHeads, headDim, dtype } = this.layout;
    return createTensor(dtype, array.subarray(0, length * kvHeads * headDim), [1, kvHeads, length, headDim]);
  }

  /** Makes room for `length` positions, keeping what is stored. */
  reserve(length: number): void {
    if (length <= this.#capacity) return;
    let capacity = this.#capacity;
    while (capacity < length) capacity *= 2;
    const used = this.#length * this.#perPosition();
    const next: [KvArray[], KvArray[]] = [this.#allocate(capacity), this.#allocate(capacity)];
    const current = this.#sets[this.#current];
    next[0].forEach((array, index) => {
      array.set(current[index]!.subarray(0, used));
    });
    this.#sets = next;
    this.#current = 0;
    this.#capacity = capacity;
  }

  /** The stored positions as the graph's `past_key_values.*` inputs. */
  pastFeeds(): Record<string, RuntimeTensor> {
    const feeds: Record<string, RuntimeTensor> = {};
    const set = this.#sets[this.#current];
    this.layout.pairs.forEach(([past], index) => {
      feeds[past] = this.#view(set[index]!, this.#length);
    });
    return feeds;
  }

  /** Pre-allocated `present.*` outputs for a step that brings the cache to `length` positions. */
  presentFetches(length: number): Record<string, RuntimeTensor> {
    this.reserve(length);
    const fetches: Record<string, RuntimeTensor> = {};
    const set = this.#sets[this.#current === 0 ? 1 : 0];
    this.layout.pairs.forEach(([, present], index) => {
      fetches[present] = this.#view(set[index]!, length);
    });
    return fetches;
  }

  /** Accepts the step's outputs as the new past. */
  commit(length: number): void {
    this.#current = this.#current === 0 ? 1 : 0;
    this.#length = length;
  }

  /**
   * Copies runtime-allocated `present.*` outputs in (for graphs whose outputs cannot be
   * pre-allocated) and accepts them as the new past.
   */
  adopt(outputs: Record<string, RuntimeTensor>, length: number): void {
    this.reserve(length);
    const set = this.#sets[this.#current === 0 ? 1 : 0];
    this.layout.pairs.forEach(([, present], index) => {
      set[index]!.set(outputs[present]!.data as KvArray);
    });
    this.commit(length);
  }

  /** Forgets every position from `length` on, keeping the first `length` (for prefix reuse). */
  truncate(length: number): void {
    if (length >= this.#length) return;
    const { kvHeads, headDim } = this.layout;
    for (const array of this.#sets[this.#current]) {
      // Heads are stored one after another; move each head's first `length` rows next to the previous head's.
      for (let head = 1; head < kvHeads; head++) {
        const from = head * this.#length * headDim;
        array.copyWithin(head * length * headDim, from, from + length * headDim);
      }
    }
    this.#length = length;
  }

  /** Nothing to do: the buffers are ordinary JavaScript memory, freed when the cache is dropped. */
  release(): void {}

  /** A copy of the first `length` positions (default all) into a fresh cache. */
  clone(length = this.#length): KvCache {
    const copy = new KvCache(this.layout, Math.max(length, 1));
    const { kvHeads, headDim } = this.layout;
    const source = this.#sets[this.#current];
    copy.#sets[0].forEach((array, index) => {
      for (let head = 0; head < kvHeads; head++) {
        const from = head * this.#length * headDim;
        array.set(source[index]!.subarray(from, from + length * headDim), head * length * headDim);
      }
    });
    copy.#length = length;
    return copy;
  }
}

/**
 * The key/value cache of one sequence for a graph whose attention writes the step's keys and
 * values into its past buffer in place (GroupQueryAttention with a shared past/present buffer).
 * Each tensor is one buffer of [heads][capacity][dim], fed as both the past input and the present
 * output, so a step neither allocates nor copies anything: the runtime appends the new positions
 * and the attention mask says how many are valid. Needs a runtime that writes outputs in place.
 */
export class SharedKvCache implements DecoderCache {
  readonly layout: KvLayout;
  #length = 0;
  #capacity: number;
  #arrays: KvArray[];
  #tensors: RuntimeTensor[];

  /** The slab slot the buffers live in, while they live in one. */
  #slot: KvSlot | undefined;

  constructor(layout: KvLayout, initialCapacity = 256, slot?: KvSlot) {
    this.layout = layout;
    this.#slot = slot;
    this.#capacity = slot ? slot.capacity : Math.max(1, initialCapacity);
    this.#arrays = slot ? slot.arrays : this.#allocate(this.#capacity);
    this.#tensors = this.#bind(this.#arrays, this.#capacity);
    slot?.occupy(this);
  }

  get length(): number {
    return this.#length;
  }

  /** Positions the buffers hold without growing. */
  get capacity(): number {
    return this.#capacity;
  }

  /** The slab slot the cache lives in (so its steps can run in one batch with the slab's others). */
  get slot(): KvSlot | undefined {
    return this.#slot;
  }

  /** Bytes held by the cache's buffers. */
  get byteSize(): number {
    return this.#arrays.reduce((total, array) => total + array.byteLength, 0);
  }

  #allocate(capacity: number): KvArray[] {
    const size = capacity * this.layout.kvHeads * this.layout.headDim;
    return this.layout.pairs.map(() =>
      this.layout.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size),
    );
  }

  #bind(arrays: KvArray[], capacity: number): RuntimeTensor[] {
    const { kvHeads, headDim, dtype } = this.layout;
    return arrays.map((array) => createTensor(dtype, array, [1, kvHeads, capacity, headDim], true));
  }

  /** Makes room for `length` positions, keeping what is stored (each head's rows move to the new stride). */
  reserve(length: number): void {
    if (length <= this.#capacity) return;
    let capacity = this.#capacity;
    while (capacity < length) capacity *= 2;
    const next = this.#allocate(capacity);
    this.#copyRows(this.#arrays, this.#capacity, next, capacity, this.#length);
    for (const tensor of this.#tensors) tensor.dispose();
    // Outgrowing a slab slot moves the cache to buffers of its own (it is no longer batched).
    this.#slot?.vacate();
    this.#slot = undefined;
    this.#arrays = next;
    this.#tensors = this.#bind(next, capacity);
    this.#capacity = capacity;
  }

  #copyRows(from: KvArray[], fromStride: number, to: KvArray[], toStride: number, rows: number): void {
    const { kvHeads, headDim } = this.layout;
    from.forEach((source, index) => {
      const target = to[index]!;
      for (let head = 0; head < kvHeads; head++) {
        const start = head * fromStride * headDim;
        target.set(source.subarray(start, start + rows * headDim), head * toStride * headDim);
      }
    });
  }

  /** The buffers, as both the `past_key_values.*` inputs and the `present.*` outputs of a step to `length` positions. */
  stepTensors(length: number): {
    feeds: Record<string, RuntimeTensor>;
    fetches: Record<string, RuntimeTensor>;
  } {
    this.reserve(length);
    const feeds: Record<string, RuntimeTensor> = {};
    const fetches: Record<string, RuntimeTensor> = {};
    this.layout.pairs.forEach(([past, present], index) => {
      feeds[past] = this.#tensors[index]!;
      fetches[present] = this.#tensors[index]!;
    });
    return { feeds, fetches };
  }

  /** Accepts the step's positions. */
  commit(length: number): void {
    this.#length = length;
  }

  /** Moves the cache out of its slab slot into buffers of its own, freeing the slot for another sequence. */
  moveOut(): void {
    const slot = this.#slot;
    if (!slot) return;
    const capacity = Math.max(256, this.#length + 64);
    const own = this.#allocate(capacity);
    this.#copyRows(this.#arrays, this.#capacity, own, capacity, this.#length);
    for (const tensor of this.#tensors) tensor.dispose();
    slot.vacate();
    this.#slot = undefined;
    this.#arrays = own;
    this.#capacity = capacity;
    this.#tensors = this.#bind(own, capacity);
  }

  /** Moves the cache into a free slab slot (so it can be batched); false when it does not fit. */
  moveInto(slot: KvSlot): boolean {
    if (this.#slot || this.#length > slot.capacity) return false;
    this.#copyRows(this.#arrays, this.#capacity, slot.arrays, slot.capacity, this.#length);
    for (const tensor of this.#tensors) tensor.dispose();
    this.#slot = slot;
    this.#arrays = slot.arrays;
    this.#capacity = slot.capacity;
    this.#tensors = this.#bind(slot.arrays, slot.capacity);
    slot.occupy(this);
    return true;
  }

  /** Forgets every position from `length` on: rows past the valid length are never read. */
  truncate(length: number): void {
    if (length < this.#length) this.#length = Math.max(0, length);
  }

  /** Frees the runtime's handles on the buffers. */
  release(): void {
    for (const tensor of this.#tensors) tensor.dispose();
    this.#slot?.vacate();
    this.#slot = undefined;
    this.#tensors = [];
    this.#arrays = [];
    this.#length = 0;
    this.#capacity = 0;
  }

  /** A copy of the first `length` positions (default all) into a fresh cache. */
  clone(length = this.#length): SharedKvCache {
    const copy = new SharedKvCache(this.layout, Math.max(length, 1));
    this.#copyRows(this.#arrays, this.#capacity, copy.#arrays, copy.#capacity, length);
    copy.#length = length;
    return copy;
  }
}

/** One slot of a `KvSlab`: a sequence's share of the slab's buffers. */
export interface KvSlot {
  readonly slab: KvSlab;
  readonly index: number;
  readonly capacity: number;
  /** Views of the slab's buffers, [heads][capacity][dim] each. */
  readonly arrays: KvArray[];
  occupy(cache: SharedKvCache): void;
  vacate(): void;
}

/**
 * KV buffers for several sequences side by side ([slots][heads][capacity][dim] per tensor), so that
 * one run can step them all: a batch. Each sequence's cache is a `SharedKvCache` over its slot; a
 * sequence that outgrows its slot moves to buffers of its own and leaves the batch.
 */
export class KvSlab {
  readonly layout: KvLayout;
  readonly slots: number;
  readonly capacity: number;
  readonly #arrays: KvArray[];
  readonly #occupants: Array<SharedKvCache | undefined>;
  #tensors = new Map<number, RuntimeTensor[]>();

  constructor(layout: KvLayout, slots: number, capacity: number) {
    this.layout = layout;
    this.slots = slots;
    this.capacity = capacity;
    const size = slots * capacity * layout.kvHeads * layout.headDim;
    this.#arrays = layout.pairs.map(() =>
      layout.dtype === 'float16' ? new Uint16Array(size) : new Float32Array(size),
    );
    this.#occupants = new Array(slots).fill(undefined);
  }

  /** Bytes held by the slab's buffers. */
  get byteSize(): number {
    return this.#arrays.reduce((total, array) => total + array.byteLength, 0);
  }

  /** The cache in each slot (undefined where free). */
  get occupants(): ReadonlyArray<SharedKvCache | undefined> {
    return this.#occupants;
  }

  /** A free slot, or undefined when all are taken. */
  acquire(): KvSlot | undefined {
    const index = this.#occupants.indexOf(undefined);
    if (index === -1) return undefined;
    const perSlot = this.capacity * this.layout.kvHeads * this.layout.headDim;
    const occupants = this.#occupants;
    return {
      slab: this,
      index,
      capacity: this.capacity,
      arrays: this.#arrays.map((array) => array.subarray(index * perSlot, (index + 1) * perSlot)),
      occupy(cache) {
        occupants[index] = cache;
      },
      vacate() {
        if (occupants[index]) occupants[index] = undefined;
      },
    };
  }

  /** The first `rows` slots' buffers as one batch's past inputs and present outputs. */
  stepTensors(rows: number): {
    feeds: Record<string, RuntimeTensor>;
    fetches: Record<string, RuntimeTensor>;
  } {
    let tensors = this.#tensors.get(rows);
    if (!tensors) {
      const { kvHeads, headDim, dtype } = this.layout;
      const perSlot = this.capacity * kvHeads * headDim;
      tensors = this.#arrays.map((array) =>
        createTensor(dtype, array.subarray(0, rows * perSlot), [rows, kvHeads, this.capacity, headDim], true),
      );
      this.#tensors.set(rows, tensors);
    }
    const feeds: Record<string, RuntimeTensor> = {};
    const fetches: Record<string, RuntimeTensor> = {};
    this.layout.pairs.forEach(([past, present], index) => {
      feeds[past] = tensors[index]!;
      fetches[present] = tensors[index]!;
    });
    return { feeds, fetches };
  }

  /** Frees the runtime's handles on the buffers. */
  release(): void {
    for (const tensors of this.#tensors.values()) for (const tensor of tensors) tensor.dispose();
    this.#tensors.clear();
  }
}
