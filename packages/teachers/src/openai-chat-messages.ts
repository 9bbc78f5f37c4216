import { createHash } from 'node:crypto';
import type { ChatMessage, ChatRequest, ImagePart, TextPart, ToolChoice } from '@shammah/provider';

/** How one OpenAI-compatible provider differs from OpenAI's Chat Completions. */
export interface OpenAIChatDialect {
  /** Field for the output limit: OpenAI and Groq want `max_completion_tokens`, others `max_tokens`. */
  maxTokensField: 'max_completion_tokens' | 'max_tokens';
  /** Ask for a usage chunk with `stream_options.include_usage` (Mistral sends usage unasked). */
  streamOptions: boolean;
  logprobs: boolean;
  /** `top_k` is understood (vLLM, llama.cpp, Ollama), not by the clouds. */
  topK: boolean;
  seedField: 'seed' | 'random_seed' | undefined;
  /** Mistral calls `required` `any`. */
  requiredToolChoice: 'required' | 'any';
  /** Mistral wants the tool's `name` on tool messages and 9-character alphanumeric call ids. */
  mistralToolMessages: boolean;
}

type WireContent = string | Array<Record<string, unknown>> | null;

/** A message in OpenAI's Chat Completions format. */
export type OpenAIChatMessage = { role: string; content: WireContent } & Record<string, unknown>;

function imageUrl(image: ImagePart): Record<string, unknown> {
  return { type: 'image_url', image_url: { url: `data:${image.mediaType};base64,${image.data}` } };
}

function userContent(content: string | Array<TextPart | ImagePart>): WireContent {
  if (typeof content === 'string') return content;
  return content.map((part) => (part.type === 'text' ? { type: 'text', text: part.text } : imageUrl(part)));
}

/** Mistral accepts only 9-character alphanumeric tool call ids; map others to a stable one. */
export function mistralToolCallId(id: string): string {
  if (/^[a-zA-Z0-9]{9}$/.test(id)) return id;
  return createHash('sha256').update(id).digest('hex').slice(0, 9);
}

/** Maps Shammah messages to Chat Completions messages. */
export function toOpenAIChatMessages(
  messages: readonly ChatMessage[],
  dialect: OpenAIChatDialect,
): OpenAIChatMessage[] {
  const callId = dialect.mistralToolMessages ? mistralToolCallId : (id: string) => id;
  const wire: OpenAIChatMessage[] = [];
  for (const message of messages) {
    switch (message.role) {
      case 'system':
        wire.push({ role: 'system', content: message.content });
        break;
      case 'user':
        wire.push({ role: 'user', content: userContent(message.content) });
        break;
      case 'assistant': {
        if (typeof message.content === 'string') {
          wire.push({ role: 'assistant', content: message.content });
          break;
        }
        const text = message.content
          .filter((part) => part.type === 'text')
          .map((part) => part.text)
          .join('');
        const toolCalls = message.content
          .filter((part) => part.type === 'tool-call')
          .map((part) => ({
            id: callId(part.id),
            type: 'function',
            function: {
              name: part.name,
              arguments: typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {}),
            },
          }));
        wire.push({
          role: 'assistant',
          content: text === '' && toolCalls.length > 0 ? null : text,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        });
        break;
      }
      case 'tool': {
        // Tool messages carry text only; images a tool returned follow in one user message.
        const images: Array<Record<string, unknown>> = [];
        for (const result of message.content) {
          const parts =
            typeof result.content === 'string'
              ? [{ type: 'text', text: result.content } as const]
              : result.content;
          const text = parts.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('\n');
          for (const part of parts) if (part.type === 'image') images.push(imageUrl(part));
          wire.push({
            role: 'tool',
            tool_call_id: callId(result.toolCallId),
            content: result.isError ? `Error: ${text}` : text,
            ...(dialect.mistralToolMessages ? { name: result.toolName } : {}),
          });
        }
        if (images.length > 0) {
          wire.push({
            role: 'user',
            content: [{ type: 'text', text: 'The images returned by the tool calls above:' }, ...images],
          });
        }
        break;
      }
    }
  }
  return wire;
}

function toolChoice(choice: ToolChoice, dialect: OpenAIChatDialect): unknown {
  if (choice === 'required') return dialect.requiredToolChoice;
  if (typeof choice === 'string') return choice;
  return { type: 'function', function: { name: choice.name } };
}

/** The Chat Completions request body for `request` (without `stream`). */
export function toOpenAIChatBody(
  request: ChatRequest,
  modelId: string,
  dialect: OpenAIChatDialect,
  options: { fixedSampling: boolean; providerOptions: Record<string, unknown> | undefined },
): Record<string, unknown> {
  const body: Record<string, unknown> = {
    model: modelId,
    messages: toOpenAIChatMessages(request.messages, dialect),
  };
  if (request.tools && request.tools.length > 0) {
    body.tools = request.tools.map((tool) => ({
      type: 'function',
      function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
    }));
  }
  if (request.toolChoice !== undefined && (request.tools?.length ?? 0) > 0) {
    body.tool_choice = toolChoice(request.toolChoice, dialect);
  }
  if (request.maxTokens !== undefined) body[dialect.maxTokensField] = request.maxTokens;
  if (!options.fixedSampling) {
    if (request.temperature !== undefined) body.temperature = request.temperature;
    if (request.topP !== undefined) body.top_p = request.topP;
  }
  if (request.topK !== undefined && dialect.topK) body.top_k = request.topK;
  if (request.stop && request.stop.length > 0) body.stop = request.stop;
  if (request.seed !== undefined && dialect.seedField) body[dialect.seedField] = request.seed;
  if (request.logprobs && dialect.logprobs) body.logprobs = true;
  return { ...body, ...options.providerOptions };
}
