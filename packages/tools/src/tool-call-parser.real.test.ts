// The parser on REAL outputs of the local model (src/fixtures/tool-calls/real/, recorded by
// scripts/record-tool-call-corpus.ts with the tool loop's own system prompt). The synthetic corpus
// beside it covers formats this model does not write; this one is what users of the local model get.
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createGlobTool } from './glob-tool.js';
import { createGrepTool } from './grep-tool.js';
import { createReadTool } from './read-tool.js';
import { chunkings } from './test-support/chunking.js';
import { IncrementalToolCallParser, parseToolCalls, type ToolCallParserOptions } from './tool-call-parser.js';
import { textToolCalls } from './tool-call-strategy.js';
import { ToolSet } from './tool-set.js';

const directory = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures', 'tool-calls', 'real');
const read = (name: string) => readFileSync(path.join(directory, name), 'utf8');

interface Provenance {
  model: string;
  revision: string;
  variant: string;
  recordedAt: string;
  systemPrompt: { file: string; sha256: string };
  files: Record<string, { question: string; temperature: number; seed?: number; maxTokens: number }>;
}

interface Expectation {
  calls: Array<{ name: string; input: unknown; format: string }>;
  issues: number;
  /** `whole`: the answer is the entire output. Otherwise the trimmed answer text. */
  text: string;
}

const provenance = JSON.parse(read('provenance.json')) as Provenance;
const expected = (JSON.parse(read('expected.json')) as { files: Record<string, Expectation> }).files;
const outputs = readdirSync(directory)
  .filter((name) => name.endsWith('.txt') && name !== provenance.systemPrompt.file)
  .sort();
const corpus = outputs.map((file) => ({ file, text: read(file), expected: expected[file]! }));

// The same tools and the same check for a known tool name as the tool loop's text strategy uses.
const tools = new ToolSet([createReadTool(), createGlobTool(), createGrepTool()]);
const options: ToolCallParserOptions = { isKnownTool: (name) => tools.get(name) !== undefined };

function streamed(chunks: readonly string[]) {
  const parser = new IncrementalToolCallParser(options);
  const events = [...chunks.flatMap((piece) => parser.push(piece)), ...parser.end()];
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

describe('the real-output corpus', () => {
  it('is small, every output has its provenance and an expectation, and nothing else is there', () => {
    expect(outputs.length).toBeGreaterThanOrEqual(10);
    expect(readdirSync(directory).length).toBeLessThanOrEqual(40);
    expect(Object.keys(provenance.files).sort()).toEqual(outputs);
    expect(Object.keys(expected).sort()).toEqual(outputs);
    expect(provenance.model).toBe('HuggingFaceTB/SmolLM2-135M-Instruct');
    expect(provenance.revision).toMatch(/^[0-9a-f]{40}$/);
    expect(provenance.variant).not.toBe('');
    expect(Number.isNaN(Date.parse(provenance.recordedAt))).toBe(false);
    for (const file of outputs) {
      expect(statSync(path.join(directory, file)).size).toBeLessThan(4_096);
      const entry = provenance.files[file]!;
      expect(entry.question).not.toBe('');
      expect(entry.temperature === 0 || entry.seed !== undefined).toBe(true);
    }
  });

  it('was recorded with the system prompt the tool loop sends today', () => {
    const system = read(provenance.systemPrompt.file);
    expect(createHash('sha256').update(system).digest('hex')).toBe(provenance.systemPrompt.sha256);
    const request = textToolCalls().prepareRequest(
      {
        messages: [
          {
            role: 'system',
            content: 'You are a helpful coding assistant. Use the tools to look at files before answering.',
          },
          { role: 'user', content: 'question' },
        ],
      },
      tools,
    );
    // If this fails, the prompt changed: record the corpus again (see the script) and check expected.json.
    expect(request.messages[0]?.content).toBe(system);
  });

  it.each(corpus)('$file, whole', ({ text, expected: expectation }) => {
    const result = parseToolCalls(text, options);
    expect(result.calls.map(({ name, input, format }) => ({ name, input, format }))).toEqual(
      expectation.calls,
    );
    expect(result.issues).toHaveLength(expectation.issues);
    if (expectation.text === 'whole') expect(result.text).toBe(text);
    else expect(result.text.trim()).toBe(expectation.text);
  });

  it.each(corpus)('$file, streamed in any chunking', ({ text, expected: expectation }) => {
    const whole = streamed([text]);
    expect(whole.calls).toEqual(expectation.calls);
    for (const chunks of chunkings(text)) {
      const result = streamed(chunks);
      expect(result.calls).toEqual(whole.calls);
      expect(result.issues).toBe(whole.issues);
      expect(result.text).toBe(whole.text);
      if (expectation.text === 'whole') expect(result.text).toBe(text);
      if (expectation.calls.length > 0) {
        for (const event of result.events) {
          if (event.type === 'text') expect(event.text).not.toMatch(/<tool_call>|<\/tool_call>/);
        }
      }
    }
  });
});
