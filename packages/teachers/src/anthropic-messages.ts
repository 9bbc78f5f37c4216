import type { ChatMessage, ChatRequest, ImagePart, TextPart, ToolChoice } from '@shammah/provider';

type Block = Record<string, unknown>;

/** A message in Anthropic's Messages API format. */
export interface AnthropicMessage {
  role: 'user' | 'assistant';
  content: string | Block[];
}

function imageBlock(image: ImagePart): Block {
  return { type: 'image', source: { type: 'base64', media_type: image.mediaType, data: image.data } };
}

function contentBlocks(content: string | Array<TextPart | ImagePart>): Block[] {
  if (typeof content === 'string') return content === '' ? [] : [{ type: 'text', text: content }];
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : imageBlock(part)));
}

/** Anthropic accepts tool ids matching `^[a-zA-Z0-9_-]+$`; ids from elsewhere are made to fit. */
export function anthropicToolId(id: string): string {
  const cleaned = id.replace(/[^a-zA-Z0-9_-]/g, '_');
  return cleaned === '' ? 'tool_call' : cleaned;
}

/**
 * Maps Shammah messages to Anthropic's `system` and `messages`. System messages are joined into the
 * top-level `system`; tool results become `tool_result` blocks in a user turn; consecutive turns of
 * one role are merged, as the API expects alternating roles.
 */
export function toAnthropicMessages(messages: readonly ChatMessage[]): {
  system: string | undefined;
  messages: AnthropicMessage[];
} {
  const system: string[] = [];
  const wire: Array<{ role: 'user' | 'assistant'; content: Block[] }> = [];
  const push = (role: 'user' | 'assistant', blocks: Block[]) => {
    if (blocks.length === 0) return;
    const last = wire.at(-1);
    if (last && last.role === role) last.content.push(...blocks);
    else wire.push({ role, content: blocks });
  };
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        system.push(message.content);
        break;
      case 'user':
        push('user', contentBlocks(message.content));
        break;
      case 'assistant':
        push(
          'assistant',
          typeof message.content === 'string'
            ? contentBlocks(message.content)
            : message.content.flatMap((part): Block[] => {
                if (part.type === 'text') return part.text === '' ? [] : [{ type: 'text', text: part.text }];
                return [
                  {
                    type: 'tool_use',
                    id: anthropicToolId(part.id),
                    name: part.name,
                    input: typeof part.input === 'object' && part.input !== null ? part.input : {},
                  },
                ];
              }),
        );
        break;
      case 'tool':
        push(
          'user',
          message.content.map((result) => ({
            type: 'tool_result',
            tool_use_id: anthropicToolId(result.toolCallId),
            content: typeof result.content === 'string' ? result.content : contentBlocks(result.content),
            ...(result.isError ? { is_error: true } : {}),
          })),
        );
        break;
    }
  }
  return {
    system: system.length > 0 ? system.join('\n\n') : undefined,
    messages: wire.map(({ role, content }) =>
      content.length === 1 && content[0]?.type === 'text'
        ? { role, content: content[0].text as string }
        : { role, content },
    ),
  };
}

function toolChoice(choice: ToolChoice): Block {
  if (choice === 'auto') return { type: 'auto' };
  if (choice === 'none') return { type: 'none' };
  if (choice === 'required') return { type: 'any' };
  return { type: 'tool', name: choice.name };
}

/** The Messages API request body for `request` (without `stream`). */
export function toAnthropicBody(
  request: ChatRequest,
  modelId: string,
  defaultMaxTokens: number,
): Record<string, unknown> {
  const { system, messages } = toAnthropicMessages(request.messages);
  const body: Record<string, unknown> = {
    model: modelId,
    max_tokens: request.maxTokens ?? defaultMaxTokens,
    messages,
  };
  if (system !== undefined) body.system = system;
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      name: tool.name,
      description: tool.description,
      input_schema: tool.inputSchema,
    }));
    if (request.toolChoice !== undefined) body.tool_choice = toolChoice(request.toolChoice);
  }
  if (request.temperature !== undefined) body.temperature = request.temperature;
  if (request.topP !== undefined) body.top_p = request.topP;
  if (request.topK !== undefined) body.top_k = request.topK;
  if (request.stop && request.stop.length > 0) body.stop_sequences = request.stop;
  return { ...body, ...request.providerOptions?.anthropic };
}
