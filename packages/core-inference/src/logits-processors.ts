/**
 * Logits processors: small functions that each change the next-token scores in place. The
 * generation loop runs a list of them, built once per request from its sampling settings.
 */

/** What a processor may look at: the prompt and the tokens generated so far. */
export interface GenerationState {
  /** Prompt tokens followed by generated tokens. */
  readonly tokens: readonly number[];
  /** How many of `tokens` were generated (the rest are the prompt). */
  readonly generatedCount: number;
  /** How often each generated token occurred so far. */
  readonly generatedCounts: ReadonlyMap<number, number>;
}

/** Changes `logits` in place. */
export type LogitsProcessor = (logits: Float32Array, state: GenerationState) => void;

/** HF-style repetition penalty over prompt and generated tokens: >1 discourages repeats. */
export function repetitionPenalty(penalty: number): LogitsProcessor {
  return (logits, state) => {
    const seen = new Set(state.tokens);
    for (const id of seen) {
      const value = logits[id]!;
      logits[id] = value > 0 ? value / penalty : value * penalty;
    }
  };
}

/** OpenAI-style frequency and presence penalties over generated tokens. */
export function frequencyPresencePenalty(frequency: number, presence: number): LogitsProcessor {
  return (logits, state) => {
    for (const [id, count] of state.generatedCounts) {
      logits[id] = logits[id]! - frequency * count - presence;
    }
  };
}

/** Forbids tokens outright (for example EOS before a minimum length). */
export function suppressTokens(ids: readonly number[]): LogitsProcessor {
  return (logits) => {
    for (const id of ids) logits[id] = Number.NEGATIVE_INFINITY;
  };
}

/** Divides by the temperature. */
export function temperatureScaling(temperature: number): LogitsProcessor {
  const inverse = 1 / temperature;
  return (logits) => {
    for (let i = 0; i < logits.length; i++) logits[i] = logits[i]! * inverse;
  };
}
