import { describe, expect, it } from 'vitest';
import { createCodingTools } from './coding-tools.js';
import { buildToolSystemPrompt } from './system-prompt.js';
import { parseToolCalls } from './tool-call-parser.js';
import { ToolSet } from './tool-set.js';

describe('buildToolSystemPrompt', () => {
  const tools = new ToolSet(createCodingTools());

  it('describes the tools in the Hermes format of the Qwen2.5 chat template', () => {
    const prompt = buildToolSystemPrompt({ tools, instructions: 'You are Shammah, a coding assistant.' });
    expect(prompt.startsWith('You are Shammah, a coding assistant.\n\n# Tools\n')).toBe(true);
    expect(prompt).toContain(
      'You are provided with function signatures within <tools></tools> XML tags:\n<tools>\n',
    );
    const signatures = prompt
      .slice(prompt.indexOf('<tools>\n') + 8, prompt.indexOf('\n</tools>'))
      .split('\n');
    expect(signatures).toHaveLength(8);
    for (const [index, line] of signatures.entries()) {
      const signature = JSON.parse(line);
      expect(signature).toMatchObject({ type: 'function', function: { name: tools.names()[index] } });
      expect(signature.function.parameters.type).toBe('object');
    }
    expect(prompt).toContain(
      '<tool_call>\n{"name": <function-name>, "arguments": <args-json-object>}\n</tool_call>',
    );
  });

  it('shows an example call that the parser reads back as a call of a real tool', () => {
    const prompt = buildToolSystemPrompt({ tools });
    const example = prompt.slice(prompt.indexOf('For example:'));
    const { calls } = parseToolCalls(example);
    expect(calls.map(({ name, input }) => ({ name, input }))).toEqual([
      { name: 'Read', input: { file_path: 'README.md' } },
    ]);
    expect(tools.parseInput(tools.resolve(calls[0]!.name), calls[0]!.input)).toEqual({
      file_path: 'README.md',
    });
  });

  it('takes plain tool definitions and can leave the example out', () => {
    const prompt = buildToolSystemPrompt({
      tools: [{ name: 'lookup', description: 'Looks up a word.', inputSchema: { type: 'object' } }],
      example: false,
    });
    expect(prompt).toContain(
      '{"type":"function","function":{"name":"lookup","description":"Looks up a word."',
    );
    expect(prompt).not.toContain('For example');
  });
});
