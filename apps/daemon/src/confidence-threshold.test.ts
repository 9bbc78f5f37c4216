import { describe, expect, it } from 'vitest';
import { confidenceFromThreshold } from './confidence-threshold.js';
import { DaemonConfigError } from './errors.js';

describe('confidenceFromThreshold', () => {
  it('is off when the config sets no threshold', () => {
    expect(confidenceFromThreshold(undefined)).toBeUndefined();
  });

  it('reads a number between 0 and 1 as the geometric mean probability of the first tokens', () => {
    expect(confidenceFromThreshold(0.3)?.minMeanLogprob).toBeCloseTo(-1.204, 3);
    expect(confidenceFromThreshold(0.999)?.minMeanLogprob).toBeCloseTo(-0.001, 4);
  });

  it('reads a negative number as the mean log-probability itself', () => {
    expect(confidenceFromThreshold(-2)).toEqual({ minMeanLogprob: -2 });
  });

  it.each([0, 1, 7, Number.NaN, Number.NEGATIVE_INFINITY])('refuses %s, saying what to write', (value) => {
    let error: unknown;
    try {
      confidenceFromThreshold(value);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(DaemonConfigError);
    expect((error as Error).message).toContain(`confidence_threshold = ${value}`);
    expect((error as Error).message).toContain('remove the line to turn the check off');
  });
});
