// Every file tool, given a signal that is already aborted, stops before touching anything and says
// so with a ToolAbortedError (the tool loop reports it as cancelled, not as a failure of the tool).
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEditTool } from './edit-tool.js';
import { ToolAbortedError } from './errors.js';
import { createGlobTool } from './glob-tool.js';
import { createGrepTool } from './grep-tool.js';
import { createReadTool } from './read-tool.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';
import type { AnyTool } from './tool.js';
import { createWriteTool } from './write-tool.js';

const original = 'const answer = 42;\n';

const cases: Array<{ name: string; tool: () => AnyTool; input: Record<string, unknown> }> = [
  { name: 'Read', tool: () => createReadTool(), input: { file_path: 'src/a.ts' } },
  { name: 'Glob', tool: () => createGlobTool(), input: { pattern: '**/*.ts' } },
  {
    name: 'Grep (ripgrep)',
    tool: () => createGrepTool({ backend: 'ripgrep' }),
    input: { pattern: 'answer' },
  },
  {
    name: 'Grep (JavaScript)',
    tool: () => createGrepTool({ backend: 'javascript' }),
    input: { pattern: 'answer' },
  },
  {
    name: 'Write over a file',
    tool: () => createWriteTool(),
    input: { file_path: 'src/a.ts', content: 'overwritten\n' },
  },
  {
    name: 'Edit',
    tool: () => createEditTool(),
    input: { file_path: 'src/a.ts', old_string: 'answer = 42', new_string: 'answer = 43' },
  },
  {
    name: 'Write a new file',
    tool: () => createWriteTool(),
    input: { file_path: 'src/new.ts', content: 'created\n' },
  },
];

describe('an already-aborted signal', () => {
  it.each(cases)('$name throws ToolAbortedError and changes nothing', async ({ tool: make, input }) => {
    const root = await tempDirectory();
    await writeFiles(root, { 'src/a.ts': original });
    const tool = make();
    const controller = new AbortController();
    controller.abort();
    const error = await tool
      .execute(tool.inputSchema.parse(input), contextFor(root, { signal: controller.signal }))
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ToolAbortedError);
    expect((error as ToolAbortedError).code).toBe('tool_aborted');
    expect((error as ToolAbortedError).message).toBe(`${tool.name} was cancelled before it finished.`);
    // Nothing was written.
    expect(await readFile(path.join(root, 'src/a.ts'), 'utf8')).toBe(original);
    await expect(readFile(path.join(root, 'src/new.ts'), 'utf8')).rejects.toMatchObject({ code: 'ENOENT' });
  });
});
