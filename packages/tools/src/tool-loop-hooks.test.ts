// The tool loop's hooks for hosts: compaction before each turn (and once more when the model refuses
// a prompt as too long), and tools that end the loop (an approved plan).
import { type ChatMessage, ContextLengthError, contentText } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import type { CompactionRequest, ConversationCompactor } from './conversation-compactor.js';
import { createPermissionPolicy } from './permission-policy.js';
import { ScriptedModel } from './test-support/scripted-model.js';
import { tempDirectory } from './test-support/temp-project.js';
import { defineTool } from './tool.js';
import { runToolLoop, type ToolLoopEvent, type ToolLoopOptions } from './tool-loop.js';

async function collect(options: ToolLoopOptions): Promise<ToolLoopEvent[]> {
  const events: ToolLoopEvent[] = [];
  for await (const event of runToolLoop(options)) events.push(event);
  return events;
}

const echo = defineTool({
  name: 'Echo',
  description: 'Repeats the text.',
  inputSchema: z.object({ text: z.string() }),
  kind: 'read',
  permissionTarget: () => ({ type: 'none' }),
  async execute({ text }) {
    return { text };
  },
});

/** Replaces everything but the last message with one summary message, when asked to or past `limit` messages. */
function summarisingCompactor(limit: number, requests: CompactionRequest[]): ConversationCompactor {
  return async (request) => {
    requests.push(request);
    if (!request.force && request.messages.length <= limit) return undefined;
    const last = request.messages.at(-1)!;
    const messages: ChatMessage[] = [
      { role: 'user', content: 'Summary: the user asked to echo things.' },
      last,
    ];
    return {
      messages,
      compaction: {
        removedMessages: request.messages.length - 1,
        tokensBefore: 100,
        tokensAfter: 20,
        summary: 'the user asked to echo things.',
        method: 'summary',
        shortenedMessages: 0,
      },
    };
  };
}

describe('runToolLoop hooks', () => {
  it('compacts the conversation before a turn when the compactor says so, and reports it', async () => {
    const cwd = await tempDirectory();
    const requests: CompactionRequest[] = [];
    const model = new ScriptedModel([
      { toolCalls: [{ id: 'a', name: 'Echo', input: { text: 'one' } }] },
      { text: 'done' },
    ]);
    const events = await collect({
      model,
      tools: [echo],
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: [
        { role: 'user', content: 'first' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'echo one' },
      ],
      compact: summarisingCompactor(4, requests),
    });
    // Turn 1: 3 messages fit. Turn 2: 5 messages (with the call and its result) do not.
    expect(requests.map((request) => request.messages.length)).toEqual([3, 5]);
    expect(requests[0]!.tools.names()).toEqual(['Echo']);
    const compaction = events.find((event) => event.type === 'compaction');
    expect(compaction).toMatchObject({ type: 'compaction', turn: 2, compaction: { removedMessages: 4 } });
    expect(model.requests[1]!.messages.map((message) => contentText(message.content as string))).toEqual([
      'Summary: the user asked to echo things.',
      '',
    ]);
    expect(model.requests[1]!.messages[1]!.role).toBe('tool');
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'answered' });
    if (done?.type === 'done') expect(done.messages).toHaveLength(3);
  });

  it('compacts and retries once when the model refuses the prompt as too long', async () => {
    const cwd = await tempDirectory();
    const requests: CompactionRequest[] = [];
    const model = new ScriptedModel([{ error: new ContextLengthError(9000, 8192) }, { text: 'fits now' }]);
    const events = await collect({
      model,
      tools: [echo],
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: [
        { role: 'user', content: 'long history' },
        { role: 'assistant', content: 'ok' },
        { role: 'user', content: 'question' },
      ],
      compact: summarisingCompactor(100, requests),
    });
    expect(requests.map((request) => request.force)).toEqual([false, true, false]);
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'answered', text: 'fits now', turns: 1 });
    expect(events.filter((event) => event.type === 'compaction')).toHaveLength(1);
  });

  it('gives up with error when the prompt is still too long after compacting', async () => {
    const cwd = await tempDirectory();
    const model = new ScriptedModel([
      { error: new ContextLengthError(9000, 8192) },
      { error: new ContextLengthError(8500, 8192) },
    ]);
    const events = await collect({
      model,
      tools: [echo],
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: [{ role: 'user', content: 'question' }],
      compact: summarisingCompactor(100, []),
    });
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'error' });
    if (done?.type === 'done') expect(done.error).toBeInstanceOf(ContextLengthError);
  });

  it('ends the loop with plan-approved when a tool result asks for it', async () => {
    const cwd = await tempDirectory();
    const approve = defineTool({
      name: 'Approve',
      description: 'Approves.',
      inputSchema: z.object({}),
      kind: 'read',
      permissionTarget: () => ({ type: 'none' }),
      async execute() {
        return { text: 'approved', endLoop: 'plan-approved' as const };
      },
    });
    const model = new ScriptedModel([
      { toolCalls: [{ id: 'a', name: 'Approve', input: {} }] },
      { text: 'never asked' },
    ]);
    const events = await collect({
      model,
      tools: [approve, echo],
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: [{ role: 'user', content: 'plan' }],
    });
    const done = events.at(-1);
    expect(done).toMatchObject({ type: 'done', reason: 'plan-approved', turns: 1 });
    expect(model.requests).toHaveLength(1);
    // The conversation ends with the tool result, ready for the host to continue in another mode.
    if (done?.type === 'done') expect(done.messages.at(-1)?.role).toBe('tool');
  });
});
