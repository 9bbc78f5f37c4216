import type { TokenLogprob } from '@shammah/provider';
import { RouterConfigError } from './errors.js';

/** Settings of the confidence check on local answers. */
export interface ConfidenceSettings {
  /**
   * Tokens to judge, from the start of the answer. They are held back from the caller until judged,
   * so this is also the delay before the first text shows. Default 16.
   */
  tokens?: number;
  /** Escalate when the mean log-probability of those tokens is below this. Default -1.2. */
  minMeanLogprob?: number;
  /**
   * Escalate when any one of those tokens is below this. Default: not checked, since sampling at a
   * temperature picks an unlikely token now and then.
   */
  minTokenLogprob?: number;
}

/** The confidence of the start of an answer. */
export interface ConfidenceReading {
  /** Tokens judged. */
  tokens: number;
  meanLogprob: number;
  minLogprob: number;
  passed: boolean;
}

/** {@link ConfidenceSettings} with defaults filled in. */
export interface ResolvedConfidenceSettings {
  tokens: number;
  minMeanLogprob: number;
  minTokenLogprob: number;
}

/** Fills in defaults and checks the values. */
export function resolveConfidenceSettings(settings: ConfidenceSettings): ResolvedConfidenceSettings {
  const resolved = {
    tokens: settings.tokens ?? 16,
    minMeanLogprob: settings.minMeanLogprob ?? -1.2,
    minTokenLogprob: settings.minTokenLogprob ?? Number.NEGATIVE_INFINITY,
  };
  if (!Number.isInteger(resolved.tokens) || resolved.tokens < 1) {
    throw new RouterConfigError(
      `confidence.tokens is ${settings.tokens}; give a whole number of tokens of at least 1 (16 is a good start).`,
    );
  }
  if (resolved.minMeanLogprob > 0 || resolved.minTokenLogprob > 0) {
    throw new RouterConfigError(
      `Log-probabilities are never above 0, so a confidence threshold of ${Math.max(resolved.minMeanLogprob, resolved.minTokenLogprob)} ` +
        'would escalate every answer; give a negative number such as -1.2.',
    );
  }
  return resolved;
}

/**
 * Judges the first tokens of an answer by their log-probabilities. Returns undefined when there
 * are none (the model does not report them), in which case the answer cannot be judged.
 *
 * @example
 * ```ts
 * readConfidence([{ token: 'Paris', logprob: -0.1 }], resolveConfidenceSettings({})); // passed: true
 * ```
 */
export function readConfidence(
  logprobs: readonly TokenLogprob[],
  settings: ResolvedConfidenceSettings,
): ConfidenceReading | undefined {
  const judged = logprobs.slice(0, settings.tokens);
  if (judged.length === 0) return undefined;
  let sum = 0;
  let min = 0;
  for (const { logprob } of judged) {
    sum += logprob;
    min = Math.min(min, logprob);
  }
  const meanLogprob = sum / judged.length;
  return {
    tokens: judged.length,
    meanLogprob,
    minLogprob: min,
    passed: meanLogprob >= settings.minMeanLogprob && min >= settings.minTokenLogprob,
  };
}
