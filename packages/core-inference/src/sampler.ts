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
 * float precision, and skipping them keeps sorting to a few hundred entries instead of the vocabulary.
 */
const NEGLIGIBLE_LOGIT_GAP = 30;

/** Draws a token from `logits` (already temperature-scaled) under top-k, top-p and min-p. */
export function sample(logits: Float32Array, options: SamplerOptions, random: SeededRandom): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  if (max === Number.NEGATIVE_INFINITY) return 0;
  const floor = max - NEGLIGIBLE_LOGIT_GAP;
  const ids: number[] = [];
  for (let i = 0; i < logits.length; i++) if (logits[i]! >= floor) ids.push(i);
  ids.sort((x, y) => logits[y]! - logits[x]!);
  let count = ids.length;
  if (options.topK && options.topK > 0) count = Math.min(count, options.topK);
  const probs = new Float64Array(count);
  let total = 0;
  for (let i = 0; i < count; i++) {
    probs[i] = Math.exp(logits[ids[i]!]! - max);
    total += probs[i]!;
  }
  if (options.minP && options.minP > 0) {
    // probs[0] is the top probability (times total); keep those at least minP of it.
    const threshold = probs[0]! * options.minP;
    let kept = count;
    for (let i = 1; i < count; i++) {
      if (probs[i]! < threshold) {
        kept = i;
        break;
      }
    }
    count = kept;
    total = 0;
    for (let i = 0; i < count; i++) total += probs[i]!;
  }
  if (options.topP !== undefined && options.topP < 1) {
    let cumulative = 0;
    let kept = count;
    for (let i = 0; i < count; i++) {
      cumulative += probs[i]! / total;
      if (cumulative >= options.topP) {
        kept = i + 1;
        break;
      }
    }
    count = kept;
    total = 0;
    for (let i = 0; i < count; i++) total += probs[i]!;
  }
  let draw = random.next() * total;
  for (let i = 0; i < count; i++) {
    draw -= probs[i]!;
    if (draw <= 0) return ids[i]!;
  }
  return ids[count - 1]!;
}

/** The log-probability of `id` under the softmax of `logits`. */
export function logSoftmaxAt(logits: Float32Array, id: number): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < logits.length; i++) if (logits[i]! > max) max = logits[i]!;
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp(logits[i]! - max);
  return logits[id]! - max - Math.log(sum);
}
