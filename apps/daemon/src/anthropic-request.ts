import type {
  ChatMessage,
  ChatRequest,
  ImagePart,
  TextPart,
  ToolCallPart,
  ToolChoice,
  ToolDefinition,
  ToolResultPart,
} from '@shammah/provider';
import type { z } from 'zod';
import type { anthropicBlockSchema, CountTokensRequest, MessagesRequest } from './anthropic-schema.js';
import { InvalidRequestError, UnsupportedContentError } from './errors.js';
import { imageFromUrl } from './image-data.js';
import type { MappingOptions } from './openai-request.js';

type Block = z.output<typeof anthropicBlockSchema>;
type ImageBlock = Extract<Block, { type: 'image' }>;

function image(block: ImageBlock, param: string, options: MappingOptions): ImagePart {
  if (!options.acceptsImages) {
    throw new UnsupportedContentError(
      `This model does not accept images (${param} is an image). Send text only, or name a model that reads ` +
        'images (GET /v1/models lists them).',
      { param },
    );
  }
  const { source } = block;
  if (source.type === 'base64') return { type: 'image', mediaType: source.media_type, data: source.data };
  if (source.type === 'url') return imageFromUrl(source.url, `${param}.source.url`);
  throw new InvalidRequestError(`${param} refers to an uploaded file; send the image as base64 instead.`, {
    param,
  });
}

function unsupported(block: Block, param: string): never {
  throw new UnsupportedContentError(
    `${param} is a "${block.type}" block; this server reads text, image, tool_use and tool_result blocks.`,
    { param },
  );
}

/** Converts Anthropic messages (and the top-level `system`) to Shammah's. */
export function toChatMessagesFromAnthropic(
  body: Pick<CountTokensRequest, 'messages' | 'system'>,
  options: MappingOptions,
): ChatMessage[] {
  const out: ChatMessage[] = [];
  const system =
    typeof body.system === 'string' ? body.system : body.system?.map((block) => block.text).join('\n');
  if (system) out.push({ role: 'system', content: system });
  const toolNames = new Map<string, string>();
  body.messages.forEach((message, index) => {
    if (typeof message.content === 'string') {
      out.push({ role: message.role, content: message.content });
      return;
    }
    if (message.role === 'assistant') {
      const parts: Array<TextPart | ToolCallPart> = [];
      message.content.forEach((block, blockIndex) => {
        if (block.type === 'text') parts.push({ type: 'text', text: block.text });
        else if (block.type === 'tool_use') {
          toolNames.set(block.id, block.name);
          parts.push({ type: 'tool-call', id: block.id, name: block.name, input: block.input ?? {} });
        } else if (block.type === 'thinking' || block.type === 'redacted_thinking') {
          // Earlier reasoning is not sent back to the model.
        } else unsupported(block, `messages.${index}.content.${blockIndex}`);
      });
      const onlyText = parts.every((part) => part.type === 'text');
      out.push({
        role: 'assistant',
        content: onlyText ? parts.map((part) => (part as TextPart).text).join('') : parts,
      });
      return;
    }
    const results: ToolResultPart[] = [];
    const content: Array<TextPart | ImagePart> = [];
    message.content.forEach((block, blockIndex) => {
      const param = `messages.${index}.content.${blockIndex}`;
      switch (block.type) {
        case 'text':
          content.push({ type: 'text', text: block.text });
          break;
        case 'image':
          content.push(image(block, param, options));
          break;
        case 'tool_result': {
          const resultContent =
            block.content === undefined || typeof block.content === 'string'
              ? (block.content ?? '')
              : block.content.map((item, itemIndex) =>
                  item.type === 'text'
                    ? ({ type: 'text', text: item.text } as TextPart)
                    : image(item, `${param}.content.${itemIndex}`, options),
                );
          results.push({
            type: 'tool-result',
            toolCallId: block.tool_use_id,
            toolName: toolNames.get(block.tool_use_id) ?? 'tool',
            content: resultContent,
            ...(block.is_error ? { isError: true } : {}),
          });
          break;
        }
        default:
          unsupported(block, param);
      }
    });
    if (results.length > 0) out.push({ role: 'tool', content: results });
    if (content.length > 0) {
      const onlyText = content.every((part) => part.type === 'text');
      out.push({
        role: 'user',
        content: onlyText ? content.map((part) => (part as TextPart).text).join('') : content,
      });
    }
  });
  return out;
}

function toolsOf(body: Pick<CountTokensRequest, 'tools'>): ToolDefinition[] {
  return (body.tools ?? []).map((tool) => ({
    name: tool.name,
    description: tool.description ?? '',
    inputSchema: tool.input_schema,
  }));
}

function toolChoiceOf(
  body: Pick<CountTokensRequest, 'tool_choice'>,
  tools: ToolDefinition[],
): ToolChoice | undefined {
  const choice = body.tool_choice;
  if (!choice) return undefined;
  if (choice.type === 'none') return 'none';
  if (choice.type === 'auto') return 'auto';
  if (tools.length === 0) {
    throw new InvalidRequestError(`tool_choice.type is "${choice.type}" but the request has no tools.`, {
      param: 'tool_choice',
    });
  }
  if (choice.type === 'any') return 'required';
  if (!tools.some((tool) => tool.name === choice.name)) {
    throw new InvalidRequestError(
      `tool_choice names the tool "${choice.name}", which is not among the request's tools ` +
        `(${tools.map((tool) => tool.name).join(', ')}).`,
      { param: 'tool_choice.name' },
    );
  }
  return { type: 'tool', name: choice.name };
}

/** The messages and tools of a count_tokens request, as a {@link ChatRequest}. */
export function toCountRequest(body: CountTokensRequest, options: MappingOptions): ChatRequest {
  const tools = toolsOf(body);
  return { messages: toChatMessagesFromAnthropic(body, options), ...(tools.length > 0 ? { tools } : {}) };
}

/** Converts a validated `POST /v1/messages` body to a {@link ChatRequest}. */
export function toChatRequestFromAnthropic(body: MessagesRequest, options: MappingOptions): ChatRequest {
  const tools = toolsOf(body);
  const toolChoice = toolChoiceOf(body, tools);
  const stop = (body.stop_sequences ?? []).filter((item) => item !== '');
  return {
    messages: toChatMessagesFromAnthropic(body, options),
    ...(tools.length > 0 ? { tools } : {}),
    ...(toolChoice ? { toolChoice } : {}),
    maxTokens: body.max_tokens,
    ...(body.temperature !== undefined ? { temperature: body.temperature } : {}),
    ...(body.top_p !== undefined ? { topP: body.top_p } : {}),
    ...(body.top_k !== undefined ? { topK: body.top_k } : {}),
    ...(stop.length > 0 ? { stop } : {}),
  };
}
