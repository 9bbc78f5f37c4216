import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { appendTrainingExample, trainingExample } from './training-queue.js';

describe('the training queue', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shammah-queue-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("builds the original's line format with its weights", () => {
    expect(trainingExample({ query: 'q', answer: 'a', rating: 'good' })).toEqual({
      query: 'q',
      response: 'a',
      weight: 1,
      feedback: 'good',
    });
    expect(trainingExample({ query: 'q', answer: 'a', rating: 'critical', correction: ' the fix ' })).toEqual(
      {
        query: 'q',
        response: 'the fix',
        weight: 10,
        feedback: 'critical: corrected by the user',
      },
    );
    expect(trainingExample({ query: 'q', answer: 'a', rating: 'improve' }).weight).toBe(3);
  });

  it('appends whole lines, also when many writers append at once', async () => {
    const path = join(dir, 'nested', 'training_queue.jsonl');
    const long = 'y'.repeat(70_000);
    await Promise.all(
      Array.from({ length: 40 }, (_, index) =>
        appendTrainingExample(path, { query: `q${index}`, response: long, weight: 1, feedback: 'good' }),
      ),
    );
    const lines = (await readFile(path, 'utf8')).trimEnd().split('\n');
    expect(lines).toHaveLength(40);
    const parsed = lines.map((line) => JSON.parse(line) as { query: string; response: string });
    expect(new Set(parsed.map((example) => example.query)).size).toBe(40);
    expect(parsed.every((example) => example.response === long)).toBe(true);
    expect(Object.keys(parsed[0]!)).toEqual(['query', 'response', 'weight', 'feedback']);
  });
});
