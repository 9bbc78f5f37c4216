import type { ConfidenceSettings } from '@shammah/router';
import { DaemonConfigError } from './errors.js';

/**
 * The router's confidence check from `[router] confidence_threshold`: the start of a local answer
 * must be at least this likely, or a teacher answers instead. A number between 0 and 1 is a
 * probability: the geometric mean probability of the first tokens (0.3 → a mean log-probability of
 * ln 0.3 ≈ -1.2, the router's default). A negative number is that mean log-probability itself.
 * Undefined (not set) turns the check off.
 *
 * @example
 * ```ts
 * confidenceFromThreshold(0.3); // { minMeanLogprob: -1.2039728043259361 }
 * confidenceFromThreshold(-2); // { minMeanLogprob: -2 }
 * ```
 */
export function confidenceFromThreshold(threshold: number | undefined): ConfidenceSettings | undefined {
  if (threshold === undefined) return undefined;
  if (Number.isFinite(threshold) && threshold > 0 && threshold < 1) {
    return { minMeanLogprob: Math.log(threshold) };
  }
  if (Number.isFinite(threshold) && threshold < 0) return { minMeanLogprob: threshold };
  const problem =
    threshold === 0
      ? 'is ambiguous (as a probability it would never escalate, as a log-probability it always would)'
      : threshold >= 1
        ? 'would send every local answer to a teacher (no answer is that certain)'
        : 'is not a number the check can use';
  throw new DaemonConfigError(
    `config.toml sets [router] confidence_threshold = ${threshold}, which ${problem}. Write a probability ` +
      "between 0 and 1 (0.3 matches the router's default; higher sends more local answers to a teacher), or a " +
      'negative mean log-probability such as -1.2, or remove the line to turn the check off.',
  );
}
