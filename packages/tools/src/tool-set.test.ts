import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCodingTools } from './coding-tools.js';
import { defineTool } from './tool.js';
import { ToolSet } from './tool-set.js';

describe('ToolSet', () => {
  const tools = new ToolSet(createCodingTools());

  it("finds tools by the original Shammah's names and other spellings, case-insensitively", () => {
    const names = {
      read: 'Read',
      READ: 'Read',
      read_file: 'Read',
      glob: 'Glob',
      grep: 'Grep',
      bash: 'Bash',
      web_fetch: 'WebFetch',
      'Web-Fetch': 'WebFetch',
      webfetch: 'WebFetch',
      restart_session: 'Restart',
      write_file: 'Write',
      str_replace: 'Edit',
    };
    for (const [called, expected] of Object.entries(names)) expect(tools.get(called)?.name).toBe(expected);
    expect(tools.get('get_weather')).toBeUndefined();
    expect(() => tools.resolve('get_weather')).toThrow(
      'There is no tool named "get_weather". Available tools: Read, Glob, Grep, WebFetch, Bash, Write, Edit, Restart.',
    );
  });

  it('describes every tool with a JSON Schema for chat APIs', () => {
    const definitions = tools.definitions();
    expect(definitions.map((definition) => definition.name)).toEqual([
      'Read',
      'Glob',
      'Grep',
      'WebFetch',
      'Bash',
      'Write',
      'Edit',
      'Restart',
    ]);
    const read = definitions[0]!;
    expect(read.description.length).toBeGreaterThan(50);
    expect(read.inputSchema).toMatchObject({
      type: 'object',
      required: ['file_path'],
      properties: { file_path: { type: 'string' }, offset: { type: 'integer', minimum: 1 } },
    });
    expect(read.inputSchema).not.toHaveProperty('$schema');
  });

  it("forgives small models' input mistakes", () => {
    const read = tools.resolve('Read');
    expect(tools.parseInput(read, { path: 'a.ts', offset: '10', limit: ' 5 ' })).toEqual({
      file_path: 'a.ts',
      offset: 10,
      limit: 5,
    });
    expect(tools.parseInput(read, '{"file_path": "b.ts",}')).toEqual({ file_path: 'b.ts' });
    expect(tools.parseInput(tools.resolve('Bash'), 'ls -la')).toEqual({ command: 'ls -la' });
    expect(
      tools.parseInput(tools.resolve('Edit'), {
        file_path: 'a',
        old_str: 'x',
        new_str: 'y',
        replace_all: 'TRUE',
      }),
    ).toEqual({
      file_path: 'a',
      old_string: 'x',
      new_string: 'y',
      replace_all: true,
    });
  });

  it('explains invalid input with the schema, so the model can fix it', () => {
    const read = tools.resolve('Read');
    expect(() => tools.parseInput(read, { offset: 3 })).toThrow(
      /Invalid input for Read:\n.*\n\s*→ at file_path/,
    );
    try {
      tools.parseInput(read, { file_path: 'a', offset: 0 });
    } catch (error) {
      expect(error).toMatchObject({ code: 'tool_invalid_input', toolName: 'Read' });
      expect((error as Error).message).toContain('The input must match this JSON Schema: {"type":"object"');
    }
    expect.assertions(3);
  });

  it('refuses two tools with one name', () => {
    const echo = defineTool({
      name: 'Echo',
      description: 'Echoes.',
      inputSchema: z.object({ text: z.string() }),
      kind: 'read',
      permissionTarget: () => ({ type: 'none' }),
      execute: async ({ text }) => ({ text }),
    });
    expect(() => new ToolSet([echo, { ...echo, name: 'echo' }])).toThrow('Two tools are named "echo"');
  });
});
