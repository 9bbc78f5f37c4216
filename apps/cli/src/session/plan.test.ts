import { describe, expect, it } from 'vitest';
import { formatPlan, parsePlan, stepPrompt } from './plan.js';

describe('parsePlan', () => {
  it('reads the numbered steps of an answer, joining continuation lines', () => {
    const answer = [
      'I read the code. Plan:',
      '',
      '1. Add a `--json` flag to **bin.ts**',
      '   so scripts can parse the output',
      '2) Write a test',
      'Step 3: Update the README',
      '',
      'Shall I go ahead?',
    ].join('\n');
    expect(parsePlan(answer)).toEqual([
      'Add a `--json` flag to bin.ts so scripts can parse the output',
      'Write a test',
      'Update the README',
    ]);
  });

  it('ignores numbers inside code blocks and finds no plan in prose', () => {
    expect(parsePlan('```\n1. not a step\n```\nNothing to do.')).toEqual([]);
    expect(parsePlan('In 2024 there were 3 releases.')).toEqual([]);
  });

  it('round-trips through the editable form', () => {
    const steps = ['Create notes.txt', 'Print it'];
    expect(parsePlan(formatPlan(steps))).toEqual(steps);
    expect(stepPrompt(steps, 1)).toContain('Now carry out step 2 only: Print it');
  });
});
