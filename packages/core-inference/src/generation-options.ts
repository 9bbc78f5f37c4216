import {
  frequencyPresencePenalty,
  type LogitsProcessor,
  repetitionPenalty,
  temperatureScaling,
} from './logits-processors.js';
import type { GenerationConfig } from './model-files.js';

/** Settings for one generation, in token space. */
export interface GenerationOptions {
  /** Most tokens to generate. Default: what fits in the context, at most 4,096. */
  maxTokens?: number;
  /** 0 (or unset with no model default) means greedy. */
  temperature?: number;
  topK?: number;
  topP?: number;
  minP?: number;
  /** >1 discourages any token already in the prompt or answer (Hugging Face semantics). */
  repetitionPenalty?: number;
  /** Subtracted per earlier occurrence in the answer (OpenAI semantics). */
  frequencyPenalty?: number;
  /** Subtracted once for any token already in the answer (OpenAI semantics). */
  presencePenalty?: number;
  seed?: number;
  /** Text that ends generation; never part of the output. */
  stop?: readonly string[];
  /** Token ids that end generation, besides the model's own end-of-turn tokens. */
  stopTokenIds?: readonly number[];
  /** Keep generating past the model's end-of-turn tokens (for benchmarks that need a fixed length). */
  ignoreEos?: boolean;
  /** Collect the log-probability of each generated token. */
  logprobs?: boolean;
  signal?: AbortSignal;
}

/** The sampling pipeline one request runs. */
export interface SamplingPlan {
  processors: LogitsProcessor[];
  greedy: boolean;
  topK?: number;
  topP?: number;
  minP?: number;
}

/** Builds the logits processors for a request, filling gaps from the model's generation_config. */
export function planSampling(options: GenerationOptions, defaults: GenerationConfig): SamplingPlan {
  const processors: LogitsProcessor[] = [];
  const repetition = options.repetitionPenalty ?? defaults.repetition_penalty;
  if (repetition !== undefined && repetition !== 1) processors.push(repetitionPenalty(repetition));
  if (options.frequencyPenalty || options.presencePenalty) {
    processors.push(frequencyPresencePenalty(options.frequencyPenalty ?? 0, options.presencePenalty ?? 0));
  }
  const sampleByDefault = defaults.do_sample === true;
  const temperature = options.temperature ?? (sampleByDefault ? (defaults.temperature ?? 1) : 0);
  if (temperature <= 0) return { processors, greedy: true };
  if (temperature !== 1) processors.push(temperatureScaling(temperature));
  const plan: SamplingPlan = { processors, greedy: false };
  const topK = options.topK ?? (sampleByDefault ? defaults.top_k : undefined);
  const topP = options.topP ?? (sampleByDefault ? defaults.top_p : undefined);
  if (topK !== undefined) plan.topK = topK;
  if (topP !== undefined) plan.topP = topP;
  if (options.minP !== undefined) plan.minP = options.minP;
  return plan;
}
