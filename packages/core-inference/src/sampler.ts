/**
 * Picks the next token from processed logits. Greedy is an argmax; otherwise top-k, top-p and
 * min-p narrow the candidates and a seeded generator draws from them, so a seed reproduces a run.
 */

/** A seeded pseudo-random generator (SplitMix32 seeding a xorshift128+ style state), uniform in [0, 1). */
export class SeededRandom {
  #a: number;
  #b: number;
  #c: number;
  #d: number;

  constructor(seed: number = Math.floor(Math.random() * 2 ** 32)) {
    let s = seed >>> 0;
    const next = () => {
      s = (s + 0x9e3779b9) >>> 0;
      let z = s;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#a = next();
    this.#b = next();
    this.#c = next();
    this.#d = next();
  }

  /** sfc32: small, fast and well distributed. */
  next(): number {
    const t = (((this.#a + this.#b) >>> 0) + this.#d) >>> 0;
    this.#d = (this.#d + 1) >>> 0;
    this.#a = this.#b ^ (this.#b >>> 9);
    this.#b = (this.#c + (this.#c << 3)) >>> 0;
    this.#c = (this.#c << 21) | (this.#c >>> 11);
    this.#c = (this.#c + t) >>> 0;
    return t / 4294967296;
  }
}

/** Sampling settings after temperature has been applied to the logits. */
export interface SamplerOptions {
  topK?: number;
  topP?: number;
  minP?: number;
}

/** Index of the largest value. */
export function argmax(values: Float32Array): number {
  let best = 0;
  let bestValue = values[0]!;
  for (let i = 1; i < values.length; i++) {
    const value = values[i]!;
    if (value > bestValue) {
      bestValue = value;
      best = i;
    }
  }
  return best;
}

/**
 * Candidates whose probability is at least e^-30 of the best one's: the rest cannot be drawn at
 * float precision, so they are left out before any ordering.
 */
const NEGLIGIBLE_LOGIT_GAP = 30;

/** A max-heap of candidate ids by weight, so top-k/top-p pop only the few tokens they keep. */
function heapify(ids: Int32Array, weights: Float64Array, count: number): void {
  for (let i = (count >> 1) - 1; i >= 0; i--) siftDown(ids, weights, i, count);
}

function siftDown(ids: Int32Array, weights: Float64Array, start: number, count: number): void {
  let i = start;
  for (;;) {
    const left = 2 * i + 1;
    if (left >= count) return;
    const right = left + 1;
    const child = right < count && weights[right]! > weights[left]! ? right : left;
    if (weights[child]! <= weights[i]!) return;
    const id = ids[i]!;
    ids[i] = ids[child]!;
    ids[child] = id;
    const weight = weights[i]!;
    weights[i] = weights[child]!;
    weights[child] = weight;
    i = child;
  }
}

function draw(
  ids: ArrayLike<number>,
  weights: ArrayLike<number>,
  count: number,
  total: number,
  random: SeededRandom,
): number {
  let remaining = random.next() * total;
  for (let i = 0; i < count; i++) {
    remaining -= weights[i]!;
    if (remaining <= 0) return ids[i]!;
  }
  return ids[count - 1]!;
}

/** Draws a token from `logits` (already temperature-scaled) under top-k, top-p and min-p. */
export function sample(logits: Float32Array, options: SamplerOptions, random: SeededRandom): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === Number.NEGATIVE_INFINITY) return 0;
  const floor = max - NEGLIGIBLE_LOGIT_GAP;
  const ids = new Int32Array(logits.length);
  const weights = new Float64Array(logits.length);
  let count = 0;
  let total = 0;
  for (let i = 0; i < logits.length; i++) {
    const value = logits[i]!;
    if (value >= floor) {
      const weight = Math.exp(value - max);
      ids[count] = i;
      weights[count] = weight;
      total += weight;
      count++;
    }
  }
  const topK = options.topK && options.topK > 0 ? options.topK : 0;
  const topP = options.topP !== undefined && options.topP < 1 ? options.topP : 1;
  const minP = options.minP && options.minP > 0 ? options.minP : 0;
  if (!topK && topP === 1 && !minP) return draw(ids, weights, count, total, random);

  // Pop candidates best first; only the kept ones are ever ordered.
  heapify(ids, weights, count);
  const keptIds: number[] = [];
  const keptWeights: number[] = [];
  let kept = 0;
  let size = count;
  const best = weights[0]!;
  while (size > 0) {
    const id = ids[0]!;
    const weight = weights[0]!;
    if (minP && weight < best * minP) break;
    keptIds.push(id);
    keptWeights.push(weight);
    kept += weight;
    if (topK && keptIds.length >= topK) break;
    if (!topK && kept / total >= topP) break;
    size--;
    ids[0] = ids[size]!;
    weights[0] = weights[size]!;
    siftDown(ids, weights, 0, size);
  }
  if (topK && topP < 1) {
    // Top-p over the top-k distribution, as Hugging Face orders them.
    let cumulative = 0;
    for (let i = 0; i < keptIds.length; i++) {
      cumulative += keptWeights[i]!;
      if (cumulative / kept >= topP) {
        keptIds.length = i + 1;
        keptWeights.length = i + 1;
        kept = cumulative;
        break;
      }
    }
  }
  return draw(keptIds, keptWeights, keptIds.length, kept, random);
}

/** The log-probability of `id` under the softmax of `logits`. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[id]! - max - Math.log(sum);
}
