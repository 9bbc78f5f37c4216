import type { ChatRequest, ChatStreamPart } from '@shammah/provider';
import { collectStream } from '@shammah/provider';
import type { LocalModel } from '@shammah/router';
import { createCodingTools, ToolSet } from '@shammah/tools';
import { describe, expect, it } from 'vitest';
import { localModelUsesTools, withTextToolCalls } from './local-tool-calls.js';

/** A local model that writes the given text, recording what it was asked. */
function writing(text: string, seen: ChatRequest[]): LocalModel {
  return {
    provider: 'local',
    modelId: 'Org/Model-1.5B',
    status: { state: 'ready' },
    capabilities: {
      tools: false,
      streaming: true,
      vision: false,
      contextLength: 4096,
      maxOutputTokens: 1024,
    },
    async *stream(request): AsyncIterable<ChatStreamPart> {
      seen.push(request);
      for (const piece of text.match(/.{1,7}/gs) ?? []) yield { type: 'text-delta', text: piece };
      yield { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 1 } };
    },
    generate: () => Promise.reject(new Error('unused')),
  };
}

const tools = createCodingTools({ restart: false });
const definitions = new ToolSet(tools).definitions();

describe('the local model with text tool calls', () => {
  it('describes the tools in the system prompt and parses the calls it writes', async () => {
    const seen: ChatRequest[] = [];
    const model = withTextToolCalls(
      writing(
        'Let me look.\n<tool_call>\n{"name": "read", "arguments": {"file_path": "a.ts"}}\n</tool_call>',
        seen,
      ),
      { tools, offerTools: true },
    );
    const result = await collectStream(
      model.stream({ messages: [{ role: 'user', content: 'what is in a.ts?' }], tools: definitions }),
    );
    expect(result.text.trim()).toBe('Let me look.');
    expect(result.toolCalls).toEqual([
      { id: expect.any(String), name: 'read', input: { file_path: 'a.ts' } },
    ]);
    expect(result.finishReason).toBe('tool-calls');
    expect(seen[0]!.tools).toBeUndefined();
    expect(String(seen[0]!.messages[0]!.content)).toContain('<tools>');
  });

  it('answers without tools when the model is too small for them', async () => {
    const seen: ChatRequest[] = [];
    const model = withTextToolCalls(writing('Paris.', seen), { tools, offerTools: false });
    const result = await collectStream(
      model.stream({ messages: [{ role: 'user', content: 'capital?' }], tools: definitions }),
    );
    expect(result.text).toBe('Paris.');
    expect(seen[0]!.messages).toEqual([{ role: 'user', content: 'capital?' }]);
    expect(seen[0]!.tools).toBeUndefined();
  });

  it('judges tool use by the size in the model name', () => {
    expect(localModelUsesTools('HuggingFaceTB/SmolLM2-135M-Instruct')).toBe(false);
    expect(localModelUsesTools('HuggingFaceTB/SmolLM2-360M-Instruct')).toBe(true);
    expect(localModelUsesTools('onnx-community/Qwen2.5-0.5B-Instruct')).toBe(true);
    expect(localModelUsesTools('onnx-community/Qwen2.5-1.5B-Instruct')).toBe(true);
    expect(localModelUsesTools('/models/my-finetune')).toBe(true);
  });
});
