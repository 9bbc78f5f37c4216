import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { createCodingTools } from './coding-tools.js';
import { createPermissionPolicy, type PermissionPrompt } from './permission-policy.js';
import { runToolCall } from './run-tool-call.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';
import { defineTool } from './tool.js';
import { ToolSet } from './tool-set.js';

describe('runToolCall', () => {
  const tools = new ToolSet(createCodingTools());

  it('validates, checks permissions, runs the tool and returns text and data', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'a.txt': 'hello\n' });
    const permissions = createPermissionPolicy({ projectRoot: root });
    const outcome = await runToolCall(
      { id: 'call_1', name: 'read', input: { file_path: 'a.txt' } },
      { tools, permissions, context: contextFor(root) },
    );
    expect(outcome).toMatchObject({
      toolCallId: 'call_1',
      toolName: 'Read',
      text: '     1\thello',
      isError: false,
      truncated: false,
      permission: { allowed: true, asked: false },
    });
  });

  it('turns unknown tools, bad input, denials and tool errors into error outcomes with codes', async () => {
    const root = await tempDirectory();
    const prompts: PermissionPrompt[] = [];
    const permissions = createPermissionPolicy({
      projectRoot: root,
      ask: async (prompt) => {
        prompts.push(prompt);
        return 'deny';
      },
    });
    const run = (name: string, input: unknown) =>
      runToolCall({ id: 'c', name, input }, { tools, permissions, context: contextFor(root) });
    expect(await run('get_weather', {})).toMatchObject({ isError: true, errorCode: 'tool_unknown' });
    expect(await run('Read', {})).toMatchObject({ isError: true, errorCode: 'tool_invalid_input' });
    const denied = await run('Write', { file_path: 'x.txt', content: 'x' });
    expect(denied).toMatchObject({ isError: true, errorCode: 'permission_denied' });
    expect(denied.text).toMatch(/^Permission denied: Write was not allowed \(the user denied it\)\./);
    expect(prompts.map((prompt) => prompt.message)).toEqual([`Write wants to write x.txt`]);
    await expect(readFile(path.join(root, 'x.txt'))).rejects.toThrow();
    expect(await run('Read', { file_path: 'missing.txt' })).toMatchObject({
      isError: true,
      errorCode: 'file_not_found',
      text: 'File not found: missing.txt. Use Glob to find the right path.',
    });
  });

  it('truncates long results centrally, with the marker', async () => {
    const root = await tempDirectory();
    const noisy = defineTool({
      name: 'Noisy',
      description: 'Prints a lot.',
      inputSchema: z.object({}),
      kind: 'read',
      maxOutputChars: 200,
      permissionTarget: () => ({ type: 'none' }),
      execute: async () => ({ text: 'é'.repeat(1000), data: { full: true } }),
    });
    const outcome = await runToolCall(
      { id: 'c', name: 'Noisy', input: {} },
      {
        tools: new ToolSet([noisy]),
        permissions: createPermissionPolicy({ projectRoot: root }),
        context: contextFor(root),
      },
    );
    expect(outcome.truncated).toBe(true);
    expect(outcome.text.length).toBeLessThanOrEqual(200);
    expect(outcome.text).toMatch(/\[… truncated: [\d,]+ of 1,000 characters omitted\.\]$/);
    expect(outcome.data).toEqual({ full: true });
  });

  it('reports an unexpected exception as the tool failing', async () => {
    const root = await tempDirectory();
    const broken = defineTool({
      name: 'Broken',
      description: 'Throws.',
      inputSchema: z.object({}),
      kind: 'read',
      permissionTarget: () => ({ type: 'none' }),
      execute: async () => {
        throw new TypeError('undefined is not a function');
      },
    });
    const outcome = await runToolCall(
      { id: 'c', name: 'Broken', input: {} },
      { tools: new ToolSet([broken]), context: contextFor(root) },
    );
    expect(outcome).toMatchObject({
      isError: true,
      errorCode: 'tool_failed',
      text: 'Broken failed: undefined is not a function',
    });
  });
});
