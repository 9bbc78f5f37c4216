import { describe, expect, it } from 'vitest';
import { InvalidExampleError } from './errors.js';
import { decodeExampleLine, encodeExampleLine, QUEUE_FORMAT_VERSION } from './queue-format.js';
import { createExample, FEEDBACK_WEIGHTS, feedbackLevel, weightFor } from './weighted-example.js';

describe('WeightedExample', () => {
  it('weighs critical 10, improvement 3, good 1, and maps weights back to levels', () => {
    expect(FEEDBACK_WEIGHTS).toEqual({ critical: 10, improvement: 3, good: 1 });
    expect(weightFor('improvement')).toBe(3);
    expect([10, 12, 3, 5, 1, 0.5].map(feedbackLevel)).toEqual([
      'critical',
      'critical',
      'improvement',
      'improvement',
      'good',
      'good',
    ]);
  });

  it('builds an example from a query or a conversation', () => {
    const fromQuery = createExample({
      query: 'Which port?',
      response: '11435.',
      level: 'critical',
      modelId: 'm',
    });
    expect(fromQuery).toMatchObject({
      messages: [{ role: 'user', content: 'Which port?' }],
      response: '11435.',
      weight: 10,
      source: 'user-correction',
      modelId: 'm',
    });
    expect(fromQuery.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(Date.parse(fromQuery.createdAt!)).toBeGreaterThan(Date.now() - 60_000);

    const conversation = createExample({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: [{ type: 'text', text: 'Hi' }] },
      ],
      response: 'Hello.',
      source: 'teacher-answer',
      createdAt: new Date('2025-01-02T03:04:05Z'),
    });
    expect(conversation.weight).toBe(1);
    expect(conversation.createdAt).toBe('2025-01-02T03:04:05.000Z');
  });

  it('rejects what cannot be trained on, saying what to fix', () => {
    expect(() => createExample({ query: 'q', response: '  ' })).toThrow(/response is empty/);
    expect(() => createExample({ query: 'q', response: 'r', weight: 0 })).toThrow(/positive number.*got 0/);
    expect(() => createExample({ query: 'q', response: 'r', weight: 3, level: 'good' })).toThrow(/either/);
    expect(() => createExample({ messages: [{ role: 'system', content: 's' }], response: 'r' })).toThrow(
      /no user message/,
    );
    expect(() =>
      createExample({ messages: [{ role: 'robot', content: 's' } as never], response: 'r' }),
    ).toThrow(/"robot".*system, user, assistant, tool/);
    const error = (() => {
      try {
        createExample({ response: 'r' });
      } catch (caught) {
        return caught;
      }
    })();
    expect(error).toBeInstanceOf(InvalidExampleError);
    expect(error).toMatchObject({ name: 'InvalidExampleError', code: 'lora_invalid_example' });
  });
});

describe('queue line format', () => {
  const example = createExample({
    messages: [
      { role: 'user', content: 'What is 2 + 2?' },
      { role: 'assistant', content: 'Five.' },
      { role: 'user', content: 'Are you sure?' },
    ],
    response: 'Sorry: 2 + 2 = 4.',
    level: 'critical',
    feedback: 'arithmetic',
    rejectedResponse: 'Yes, five.',
    modelId: 'HuggingFaceTB/SmolLM2-135M-Instruct',
  });

  it('round-trips every field on one line, version first', () => {
    const line = encodeExampleLine(example);
    expect(line.endsWith('\n')).toBe(true);
    expect(line.indexOf('\n')).toBe(line.length - 1);
    expect(line.startsWith(`{"v":${QUEUE_FORMAT_VERSION},`)).toBe(true);
    expect(decodeExampleLine(line)).toEqual(example);
  });

  it('writes lines the original Shammah can read (query, response, weight, feedback)', () => {
    const record = JSON.parse(encodeExampleLine(example)) as Record<string, unknown>;
    expect(record).toMatchObject({
      query: 'Are you sure?',
      response: 'Sorry: 2 + 2 = 4.',
      weight: 10,
      feedback: 'arithmetic',
    });
  });

  it("reads the original Shammah's lines, with stable ids", () => {
    const line = '{"query": "Fix my loop", "response": "Use for..of.", "weight": 3.0, "feedback": "better"}';
    const decoded = decodeExampleLine(line);
    expect(decoded).toEqual({
      id: decoded.id,
      messages: [{ role: 'user', content: 'Fix my loop' }],
      response: 'Use for..of.',
      weight: 3,
      source: 'user-correction',
      feedback: 'better',
    });
    expect(decoded.id).toMatch(/^original-[0-9a-f]{24}$/);
    expect(decodeExampleLine(line).id).toBe(decoded.id);
    expect(decodeExampleLine(line.replace('3.0', '10.0')).id).not.toBe(decoded.id);
  });

  it('refuses lines from a newer format and broken lines, naming the problem', () => {
    expect(() => decodeExampleLine('{"v":2,"id":"x","response":"r","weight":1}')).toThrow(
      /format 2 by a newer Shammah.*Upgrade/,
    );
    expect(() => decodeExampleLine('{"v":1,"id":"x","response":"r","wei')).toThrow(/not valid JSON/);
    expect(() => decodeExampleLine('{"query":"q","response":"r","weight":-1}')).toThrow(/positive number/);
    expect(() => decodeExampleLine('[1,2]')).toThrow(/JSON object/);
    expect(() =>
      decodeExampleLine(
        '{"v":1,"id":"x","response":"r","weight":1,"source":"robot","messages":[{"role":"user","content":"q"}]}',
      ),
    ).toThrow(/source/);
  });
});
