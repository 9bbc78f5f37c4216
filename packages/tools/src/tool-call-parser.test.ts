import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { chunk, random } from './test-support/chunking.js';
import {
  IncrementalToolCallParser,
  parseToolCalls,
  type ToolCallParserEvent,
  type ToolCallParserOptions,
} from './tool-call-parser.js';

const corpusDirectory = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tool-calls');

interface Expectation {
  calls: Array<{ name: string; input: unknown; format: string }>;
  issues: number;
  text: string;
  options?: { knownTools?: string[] };
}

const expectations = JSON.parse(readFileSync(path.join(corpusDirectory, 'expected.json'), 'utf8')) as Record<
  string,
  Expectation
>;
const corpus = Object.entries(expectations).map(([file, expected]) => ({
  file,
  text: readFileSync(path.join(corpusDirectory, file), 'utf8'),
  expected,
}));

function optionsFor(expected: Expectation): ToolCallParserOptions {
  const known = expected.options?.knownTools?.map((name) => name.toLowerCase());
  return known ? { isKnownTool: (name) => known.includes(name.toLowerCase()) } : {};
}

function streamed(chunks: readonly string[], options: ToolCallParserOptions) {
  const parser = new IncrementalToolCallParser(options);
  const events: ToolCallParserEvent[] = [];
  for (const piece of chunks) events.push(...parser.push(piece));
  events.push(...parser.end());
  return {
    events,
    text: events.map((event) => (event.type === 'text' ? event.text : '')).join(''),
    calls: events.flatMap((event) =>
      event.type === 'tool-call'
        ? [{ name: event.call.name, input: event.call.input, format: event.call.format }]
        : [],
    ),
    issues: events.filter((event) => event.type === 'parse-error').length,
  };
}

describe('tool-call parser corpus', () => {
  it('has a synthetic corpus covering every format (real outputs: tool-call-parser.real.test.ts)', () => {
    expect(corpus.length).toBeGreaterThanOrEqual(35);
  });

  it.each(corpus)('$file', ({ text, expected }) => {
    const result = parseToolCalls(text, optionsFor(expected));
    expect(result.calls.map(({ name, input, format }) => ({ name, input, format }))).toEqual(expected.calls);
    expect(result.issues).toHaveLength(expected.issues);
    expect(result.text.trim()).toBe(expected.text);
    for (const issue of result.issues) expect(issue.message).toContain('<tool_call>{"name"');
  });

  it.each(corpus)(
    '$file: streamed in any chunking, it gives the same result and never shows call text',
    ({ text, expected }) => {
      const options = optionsFor(expected);
      const whole = streamed([text], options);
      const chunkings = [
        chunk(text, () => 1),
        ...[1, 2, 3, 4].map((seed) => {
          const next = random(seed);
          return chunk(text, () => 1 + next() * 12);
        }),
      ];
      for (const chunks of chunkings) {
        const result = streamed(chunks, options);
        expect(result.text).toBe(whole.text);
        expect(result.calls).toEqual(whole.calls);
        expect(result.issues).toBe(whole.issues);
        if (expected.calls.length > 0 || expected.issues > 0) {
          for (const event of result.events) {
            if (event.type !== 'text') continue;
            expect(event.text).not.toMatch(/<tool_call>|<tool_use>|"arguments"|<\/tool_call>/);
          }
        }
      }
    },
  );
});

describe('IncrementalToolCallParser', () => {
  it('holds back only what could start a tool call, and releases it when it cannot', () => {
    const parser = new IncrementalToolCallParser({ createId: () => 'call_1' });
    expect(parser.push('Hello <tool_')).toEqual([{ type: 'text', text: 'Hello ' }]);
    expect(parser.push('call>{"name": "Read", ')).toEqual([]);
    expect(parser.push('"arguments": {"file_path": "a"}}</tool_call> done')).toEqual([
      {
        type: 'tool-call',
        call: {
          id: 'call_1',
          name: 'Read',
          input: { file_path: 'a' },
          format: 'hermes',
          raw: '<tool_call>{"name": "Read", "arguments": {"file_path": "a"}}</tool_call>',
        },
      },
      { type: 'text', text: ' done' },
    ]);
    expect(parser.push(' <b>bold</b>')).toEqual([{ type: 'text', text: ' <b>bold</b>' }]);
    expect(parser.end()).toEqual([]);
  });

  it('streams ordinary text at once, code blocks included', () => {
    const parser = new IncrementalToolCallParser();
    expect(parser.push('function f() {\n')).toEqual([{ type: 'text', text: 'function f() {\n' }]);
    // A line-initial brace is held only until its first key shows it is not a call.
    expect(parser.push('{\n  ')).toEqual([]);
    expect(parser.push('const x')).toEqual([{ type: 'text', text: '{\n  const x' }]);
    expect(parser.push('```ts\nlet y = 1;\n')).toEqual([{ type: 'text', text: '```ts\nlet y = 1;\n' }]);
  });

  it('reads no calls inside other code blocks, and reads them again after the block', () => {
    const text =
      '```python\n{"name": "Read", "arguments": {"file_path": "in-block"}}\n```\n{"name": "Read", "arguments": {"file_path": "after"}}';
    for (const chunks of [[text], chunk(text, () => 1)]) {
      const result = streamed(chunks, {});
      expect(result.calls).toEqual([{ name: 'Read', input: { file_path: 'after' }, format: 'json' }]);
      expect(result.text).toBe('```python\n{"name": "Read", "arguments": {"file_path": "in-block"}}\n```\n');
    }
  });

  it('gives every call its own id', () => {
    const { calls } = parseToolCalls(
      '<tool_call>{"name": "Read", "arguments": {}}</tool_call><tool_call>{"name": "Read", "arguments": {}}</tool_call>',
    );
    expect(calls).toHaveLength(2);
    expect(calls[0]!.id).toMatch(/^call_[0-9a-f]{12}$/);
    expect(calls[0]!.id).not.toBe(calls[1]!.id);
  });

  it('releases a never-closing bare JSON object as text at the end', () => {
    const result = parseToolCalls('{"name": "Read", "arguments": {"file_path": "a"\nThat was a typo, sorry.');
    expect(result.calls).toEqual([]);
    expect(result.text).toBe('{"name": "Read", "arguments": {"file_path": "a"\nThat was a typo, sorry.');
  });
});
