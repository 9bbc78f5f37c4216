import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RouteDecision } from '@shammah/router';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createTeacherLearner, exampleFromTeacherAnswer } from './teacher-examples.js';
import { TrainingQueue } from './training-queue.js';

/** A decision record as the router produces it for a request a teacher answered. */
function teacherDecision(overrides: Partial<RouteDecision> = {}): RouteDecision {
  return {
    id: 'dec-1',
    startedAt: '2025-03-04T05:06:07.000Z',
    route: 'teacher',
    reason: 'learned-low-success',
    message: 'the local model does badly on code questions; Claude answers',
    provider: 'anthropic',
    modelId: 'claude-sonnet-4-20250514',
    name: 'Claude',
    category: 'code',
    fallback: false,
    chain: [],
    promptTokens: 20,
    latencyMs: 900,
    finishReason: 'stop',
    request: {
      messages: [
        { role: 'system', content: 'You are Shammah.' },
        { role: 'user', content: 'How do I reverse a list in Python?' },
      ],
    },
    answer: { text: 'Use `items.reverse()` in place, or `items[::-1]` for a copy.', toolCalls: [] },
    ...overrides,
  };
}

let dir: string;
let queue: TrainingQueue;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shammah-teacher-'));
  queue = new TrainingQueue({ path: join(dir, 'training_queue.jsonl') });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('learning from teachers', () => {
  it("turns a teacher's answer into a weight-1 teacher example", () => {
    expect(exampleFromTeacherAnswer(teacherDecision())).toEqual({
      id: 'teacher-dec-1',
      messages: teacherDecision().request.messages,
      response: 'Use `items.reverse()` in place, or `items[::-1]` for a copy.',
      weight: 1,
      source: 'teacher-answer',
      createdAt: '2025-03-04T05:06:07.000Z',
      modelId: 'anthropic/claude-sonnet-4-20250514',
    });
  });

  it('learns nothing from local answers, crises, errors, cut-off answers or tool calls', () => {
    const rejected: Array<Partial<RouteDecision>> = [
      { route: 'local' },
      { route: 'builtin' },
      { crisis: { level: 'high', matched: ['x'] } as never },
      { finishReason: 'length' },
      { finishReason: 'tool-calls' },
      { error: { name: 'ApiCallError', message: 'boom' } },
      { answer: { text: '   ', toolCalls: [] } },
      { answer: { text: 'Reading it.', toolCalls: [{ id: 't', name: 'read', input: {} }] } },
      { request: { messages: [{ role: 'system', content: 'only a system prompt' }] } },
    ];
    for (const overrides of rejected) {
      expect(exampleFromTeacherAnswer(teacherDecision(overrides)), JSON.stringify(overrides)).toBeUndefined();
    }
  });

  it('appends only when learn_from_teachers is on, once per decision', async () => {
    const off = createTeacherLearner({ settings: { learn_from_teachers: false }, queue });
    expect(await off(teacherDecision())).toBeUndefined();
    expect((await queue.read()).examples).toEqual([]);

    const learn = createTeacherLearner({ settings: { learn_from_teachers: true }, queue });
    const stored = await learn(teacherDecision());
    await learn(teacherDecision());
    expect(await learn(teacherDecision({ id: 'dec-2', route: 'local' }))).toBeUndefined();
    const { examples } = await queue.read();
    expect(examples).toEqual([stored]);
    expect(examples[0]).toMatchObject({ source: 'teacher-answer', weight: 1 });
  });
});
