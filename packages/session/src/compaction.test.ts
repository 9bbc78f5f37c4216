// Compaction's edge cases with scripted summarisers; compaction.real-model.test.ts has the real SmolLM2.
import type { ChatMessage, ChatRequest } from '@shammah/provider';
import { contentText } from '@shammah/provider';
import { createPermissionPolicy, defineTool, runToolLoop, type ToolLoopEvent } from '@shammah/tools';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  COMPACTION_SUMMARY_HEADER,
  compactConversation,
  createCompactor,
  isCompactionSummary,
} from './compaction.js';
import { ScriptedModel } from './test-support/scripted-model.js';
import { tempDirectory } from './test-support/temp-directory.js';
import { countMessageTokens } from './token-count.js';

/** A user turn, then `calls` tool calls with their results, then an answer; about 120 tokens a call. */
function turn(index: number, calls = 1): ChatMessage[] {
  const messages: ChatMessage[] = [
    { role: 'user', content: `Question ${index}: what is in file${index}.txt?` },
  ];
  for (let call = 0; call < calls; call++) {
    const id = `call_${index}_${call}`;
    messages.push({
      role: 'assistant',
      content: [{ type: 'tool-call', id, name: 'Read', input: { file_path: `file${index}.txt` } }],
    });
    messages.push({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: id, toolName: 'Read', content: `contents ${index} `.repeat(40) },
      ],
    });
  }
  messages.push({ role: 'assistant', content: `File ${index} holds contents ${index}.` });
  return messages;
}

function history(turns: number): ChatMessage[] {
  return [
    { role: 'system', content: 'You are Shammah.' },
    ...Array.from({ length: turns }, (_, index) => turn(index + 1)).flat(),
  ];
}

/** Every tool message directly follows the assistant message whose calls it answers. */
function expectPairsIntact(messages: readonly ChatMessage[]): void {
  messages.forEach((message, index) => {
    if (message.role !== 'tool') return;
    const previous = messages[index - 1];
    expect(previous?.role).toBe('assistant');
    const ids = Array.isArray(previous?.content)
      ? previous.content.flatMap((part) => (part.type === 'tool-call' ? [part.id] : []))
      : [];
    for (const part of message.content) expect(ids).toContain(part.toolCallId);
  });
}

function summariser(text = 'The user asked about files 1 to 3; each holds its number.') {
  return new ScriptedModel(Array.from({ length: 10 }, () => ({ text })));
}

describe('compactConversation', () => {
  it('leaves a conversation that fits alone, without calling the summariser', async () => {
    const model = summariser();
    const messages = history(2);
    const result = await compactConversation({ messages, summarizer: model, maxTokens: 10_000 });
    expect(result.compaction).toBeUndefined();
    expect(result.messages).toEqual(messages);
    expect(model.requests).toHaveLength(0);
  });

  it('keeps the system prompt and the last turns, summarises the rest, and never splits a call from its result', async () => {
    const model = summariser();
    const messages = history(8);
    const before = countMessageTokens(messages);
    const result = await compactConversation({ messages, summarizer: model, maxTokens: 800 });
    const compaction = result.compaction!;
    expect(compaction.method).toBe('summary');
    expect(compaction.tokensBefore).toBe(before);
    expect(compaction.tokensAfter).toBeLessThanOrEqual(800);
    expect(compaction.tokensAfter).toBe(countMessageTokens(result.messages));
    expect(result.messages[0]).toEqual({ role: 'system', content: 'You are Shammah.' });
    expect(result.messages[1]).toEqual({
      role: 'user',
      content: `${COMPACTION_SUMMARY_HEADER}\n\nThe user asked about files 1 to 3; each holds its number.`,
    });
    expect(isCompactionSummary(result.messages[1]!)).toBe(true);
    // The tail is the original's tail, word for word.
    const tail = result.messages.slice(2);
    expect(messages.slice(-tail.length)).toEqual(tail);
    expect(tail.at(-1)).toEqual({ role: 'assistant', content: 'File 8 holds contents 8.' });
    expect(compaction.removedMessages).toBe(messages.length - 1 - tail.length);
    expectPairsIntact(result.messages);
    // The summariser saw the older turns, not the kept ones.
    const prompt = contentText(model.requests[0]!.messages[1]!.content);
    expect(prompt).toContain('User: Question 1: what is in file1.txt?');
    expect(prompt).toContain('Assistant called Read {"file_path":"file1.txt"}');
    expect(prompt).toContain('Result of Read: contents 1');
    expect(prompt).not.toContain('Question 8');
  });

  it('keeps tool calls with their results even when the boundary falls inside a long tool sequence', async () => {
    const messages: ChatMessage[] = [{ role: 'system', content: 'sys' }, ...turn(1, 12)];
    for (const maxTokens of [500, 700, 900, 1200]) {
      const result = await compactConversation({ messages, summarizer: summariser(), maxTokens });
      expect(result.compaction).toBeDefined();
      expectPairsIntact(result.messages);
      // The request that started it all stays first, word for word; the summary of the work on it follows.
      expect(result.messages[1]).toEqual({ role: 'user', content: 'Question 1: what is in file1.txt?' });
      expect(isCompactionSummary(result.messages[2]!)).toBe(true);
      expect(result.messages[3]?.role).toBe('assistant');
      expect(result.compaction!.tokensAfter).toBeLessThanOrEqual(maxTokens);
    }
  });

  it('keeps the latest request word for word after the summary when the turns after it must go too', async () => {
    const messages: ChatMessage[] = [...history(3), ...turn(4, 10)];
    const result = await compactConversation({ messages, summarizer: summariser(), maxTokens: 900 });
    expect(isCompactionSummary(result.messages[1]!)).toBe(true);
    expect(result.messages[2]).toEqual({ role: 'user', content: 'Question 4: what is in file4.txt?' });
    expect(result.messages[3]?.role).toBe('assistant');
    expect(result.messages.filter((message) => message.role === 'user')).toHaveLength(2);
    expectPairsIntact(result.messages);
    expect(result.compaction!.tokensAfter).toBeLessThanOrEqual(900);
  });

  it('keeps a digest of the user’s requests when the summariser fails', async () => {
    const failing = new ScriptedModel([{ error: new Error('model crashed') }]);
    const result = await compactConversation({ messages: history(8), summarizer: failing, maxTokens: 800 });
    expect(result.compaction?.method).toBe('digest');
    const summary = contentText(result.messages[1]!.content);
    expect(summary).toContain('could not be summarised');
    expect(summary).toContain('- Question 1: what is in file1.txt?');
    expect(result.compaction!.tokensAfter).toBeLessThanOrEqual(800);
  });

  it('treats an empty summary as a failure too', async () => {
    const result = await compactConversation({
      messages: history(8),
      summarizer: summariser('   '),
      maxTokens: 800,
    });
    expect(result.compaction?.method).toBe('digest');
  });

  it('shortens a huge tool result of the last turn when nothing older can go', async () => {
    const messages: ChatMessage[] = [
      { role: 'system', content: 'sys' },
      { role: 'user', content: 'Read the log' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'a', name: 'Read', input: { file_path: 'log' } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'a',
            toolName: 'Read',
            content: `START ${'line\n'.repeat(3000)} END`,
          },
        ],
      },
    ];
    const model = summariser();
    const result = await compactConversation({ messages, summarizer: model, maxTokens: 1000 });
    expect(result.compaction).toMatchObject({
      method: 'shortened',
      removedMessages: 0,
      shortenedMessages: 1,
    });
    expect(result.compaction!.tokensAfter).toBeLessThanOrEqual(1000);
    expect(model.requests).toHaveLength(0);
    const text = contentText(
      (result.messages[3] as Extract<ChatMessage, { role: 'tool' }>).content[0]!.content,
    );
    expect(text.startsWith('START')).toBe(true);
    expect(text.endsWith('END')).toBe(true);
  });

  it('summarises in several passes when the older turns exceed the summariser’s own context, and re-summarises an earlier summary', async () => {
    const requests: ChatRequest[] = [];
    const small = new ScriptedModel(
      Array.from({ length: 20 }, (_, index) => (request: ChatRequest) => {
        requests.push(request);
        return { text: `summary pass ${index + 1}` };
      }),
      { contextLength: 600 },
    );
    const first = await compactConversation({ messages: history(10), summarizer: small, maxTokens: 700 });
    expect(requests.length).toBeGreaterThan(1);
    expect(contentText(requests[1]!.messages[1]!.content)).toContain(`Summary so far:\nsummary pass 1`);
    expect(contentText(first.messages[1]!.content)).toContain(`summary pass ${requests.length}`);
    for (const request of requests) expect(countMessageTokens(request.messages)).toBeLessThanOrEqual(600);

    const passes = requests.length;
    const longer = [...first.messages, ...turn(11), ...turn(12), ...turn(13)];
    const second = await compactConversation({ messages: longer, summarizer: small, maxTokens: 700 });
    expect(second.compaction?.method).toBe('summary');
    expect(contentText(requests[passes]!.messages[1]!.content)).toContain(
      `Summary of what came before: summary pass ${passes}`,
    );
    expect(second.messages.filter(isCompactionSummary)).toHaveLength(1);
  });

  it('compacts harder when forced, even if the estimate says it fits', async () => {
    const messages = history(6);
    const result = await compactConversation({
      messages,
      summarizer: summariser(),
      maxTokens: 5000,
      force: true,
    });
    expect(result.compaction).toBeDefined();
    expect(result.compaction!.tokensAfter).toBeLessThan(countMessageTokens(messages) * 0.7);
  });

  it('stops when aborted instead of falling back to a digest', async () => {
    const controller = new AbortController();
    controller.abort();
    const model = new ScriptedModel([{ error: new DOMException('aborted', 'AbortError') }]);
    await expect(
      compactConversation({
        messages: history(8),
        summarizer: model,
        maxTokens: 800,
        signal: controller.signal,
      }),
    ).rejects.toThrow();
  });
});

describe('createCompactor in the tool loop', () => {
  it('compacts when the conversation and the tools outgrow the model’s context, and the loop reports it', async () => {
    const cwd = await tempDirectory();
    const read = defineTool({
      name: 'Read',
      description: 'Reads a file.',
      inputSchema: z.object({ file_path: z.string() }),
      kind: 'read',
      permissionTarget: () => ({ type: 'none' }),
      async execute({ file_path }) {
        return { text: `contents of ${file_path} `.repeat(60) };
      },
    });
    const requests: ChatRequest[] = [];
    const model = new ScriptedModel(
      [
        { toolCalls: [{ id: 'a', name: 'Read', input: { file_path: 'one.txt' } }] },
        { toolCalls: [{ id: 'b', name: 'Read', input: { file_path: 'two.txt' } }] },
        { toolCalls: [{ id: 'c', name: 'Read', input: { file_path: 'three.txt' } }] },
        (request) => {
          requests.push(request);
          return { text: 'Done reading.' };
        },
      ],
      { contextLength: 1200 },
    );
    const summaries = summariser('Read one.txt and two.txt.');
    const events: ToolLoopEvent[] = [];
    for await (const event of runToolLoop({
      model,
      tools: [read],
      permissions: createPermissionPolicy({ projectRoot: cwd }),
      cwd,
      messages: history(3),
      compact: createCompactor({ model, summarizer: summaries, reserveOutputTokens: 200 }),
    })) {
      events.push(event);
    }
    const compactions = events.filter((event) => event.type === 'compaction');
    expect(compactions.length).toBeGreaterThan(0);
    expect(events.at(-1)).toMatchObject({ type: 'done', reason: 'answered', text: 'Done reading.' });
    // Every request the model got fitted its context, less the answer's room and the tools' description.
    for (const request of model.requests)
      expect(countMessageTokens(request.messages)).toBeLessThanOrEqual(1000);
    const done = events.at(-1);
    if (done?.type === 'done') {
      expect(done.messages[0]).toEqual({ role: 'system', content: 'You are Shammah.' });
      expect(done.messages.some(isCompactionSummary)).toBe(true);
      expectPairsIntact(done.messages);
    }
  });
});
