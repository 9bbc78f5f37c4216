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
import { InvalidRequestError, UnsupportedContentError } from './errors.js';
import { imageFromUrl } from './image-data.js';
import type { ChatCompletionRequest, OpenAIMessage } from './openai-schema.js';

/** What the mapping needs to know about the model that will answer. */
export interface MappingOptions {
  /** Whether the model reads images; if not, an image is refused with a clear 400. */
  acceptsImages: boolean;
}

function textOf(content: string | ReadonlyArray<{ type: string; text?: string; refusal?: string }>): string {
  if (typeof content === 'string') return content;
  return content.map((part) => part.text ?? part.refusal ?? '').join('');
}

function parseArguments(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    // A model's broken JSON, sent back as the client received it: keep it as text.
    return text;
  }
}

function noImages(param: string): UnsupportedContentError {
  return new UnsupportedContentError(
    `This model does not accept images (${param} is an image). Send text only, or name a model that reads ` +
      'images (GET /v1/models lists them).',
    { param },
  );
}

function userContent(
  message: Extract<OpenAIMessage, { role: 'user' }>,
  index: number,
  options: MappingOptions,
): string | Array<TextPart | ImagePart> {
  if (typeof message.content === 'string') return message.content;
  return message.content.map((part, partIndex): TextPart | ImagePart => {
    const param = `messages.[${index}].content.[${partIndex}]`;
    switch (part.type) {
      case 'text':
        return { type: 'text', text: part.text };
      case 'image_url':
        if (!options.acceptsImages) throw noImages(param);
        return imageFromUrl(part.image_url.url, `${param}.image_url.url`);
      default:
        throw new UnsupportedContentError(
          `${param} is a "${part.type}" part; this server reads text and images only.`,
          { param },
        );
    }
  });
}

/** Converts OpenAI chat messages to Shammah's. Tool results take their tool's name from the call. */
export function toChatMessages(messages: readonly OpenAIMessage[], options: MappingOptions): ChatMessage[] {
  const toolNames = new Map<string, string>();
  const out: ChatMessage[] = [];
  messages.forEach((message, index) => {
    switch (message.role) {
      case 'system':
      case 'developer':
        out.push({ role: 'system', content: textOf(message.content) });
        break;
      case 'user':
        out.push({ role: 'user', content: userContent(message, index, options) });
        break;
      case 'assistant': {
        const parts: Array<TextPart | ToolCallPart> = [];
        const text = message.content == null ? '' : textOf(message.content);
        if (text) parts.push({ type: 'text', text });
        for (const call of message.tool_calls ?? []) {
          toolNames.set(call.id, call.function.name);
          parts.push({
            type: 'tool-call',
            id: call.id,
            name: call.function.name,
            input: parseArguments(call.function.arguments),
          });
        }
        if (message.function_call) {
          const id = `call_${message.function_call.name}`;
          toolNames.set(id, message.function_call.name);
          parts.push({
            type: 'tool-call',
            id,
            name: message.function_call.name,
            input: parseArguments(message.function_call.arguments),
          });
        }
        const onlyText = parts.every((part) => part.type === 'text');
        out.push({ role: 'assistant', content: onlyText ? text : parts });
        break;
      }
      case 'tool':
      case 'function': {
        const id = message.role === 'tool' ? message.tool_call_id : `call_${message.name}`;
        const result: ToolResultPart = {
          type: 'tool-result',
          toolCallId: id,
          toolName: toolNames.get(id) ?? (message.role === 'function' ? message.name : 'tool'),
          content: message.content == null ? '' : textOf(message.content),
        };
        // Consecutive results answer one assistant turn: keep them in one tool message.
        const previous = out.at(-1);
        if (previous?.role === 'tool') previous.content.push(result);
        else out.push({ role: 'tool', content: [result] });
        break;
      }
    }
  });
  return out;
}

function toolChoiceOf(body: ChatCompletionRequest, tools: readonly ToolDefinition[]): ToolChoice | undefined {
  const choice = body.tool_choice;
  if (choice == null) return undefined;
  if (typeof choice === 'string') {
    if (choice !== 'none' && tools.length === 0) {
      throw new InvalidRequestError(`tool_choice is "${choice}" but the request has no tools.`, {
        param: 'tool_choice',
      });
    }
    return choice;
  }
  if (choice.type === 'allowed_tools') return 'auto';
  if (!tools.some((tool) => tool.name === choice.function.name)) {
    throw new InvalidRequestError(
      `tool_choice names the function "${choice.function.name}", which is not among the request's tools ` +
        `(${tools.map((tool) => tool.name).join(', ') || 'none'}).`,
      { param: 'tool_choice' },
    );
  }
  return { type: 'tool', name: choice.function.name };
}

/** Converts a validated `POST /v1/chat/completions` body to a {@link ChatRequest}. */
export function toChatRequest(body: ChatCompletionRequest, options: MappingOptions): ChatRequest {
  if (body.n != null && body.n > 1) {
    throw new InvalidRequestError(
      `n is ${body.n}, but this server generates one choice per request: send n=1 (or leave it out), and send ` +
        'several requests for several choices.',
      { param: 'n' },
    );
  }
  const tools: ToolDefinition[] = (body.tools ?? []).map((tool) => ({
    name: tool.function.name,
    description: tool.function.description ?? '',
    inputSchema: tool.function.parameters ?? { type: 'object', properties: {} },
  }));
  const toolChoice = toolChoiceOf(body, tools);
  const maxTokens = body.max_completion_tokens ?? body.max_tokens;
  const stop = body.stop == null ? undefined : typeof body.stop === 'string' ? [body.stop] : body.stop;
  const local: Record<string, unknown> = {};
  if (body.presence_penalty != null) local.presencePenalty = body.presence_penalty;
  if (body.frequency_penalty != null) local.frequencyPenalty = body.frequency_penalty;
  return {
    messages: toChatMessages(body.messages, options),
    ...(tools.length > 0 ? { tools } : {}),
    ...(toolChoice ? { toolChoice } : {}),
    ...(maxTokens != null ? { maxTokens } : {}),
    ...(body.temperature != null ? { temperature: body.temperature } : {}),
    ...(body.top_p != null ? { topP: body.top_p } : {}),
    ...(stop && stop.length > 0 ? { stop: stop.filter((item) => item !== '') } : {}),
    ...(body.seed != null ? { seed: body.seed } : {}),
    ...(body.logprobs ? { logprobs: true } : {}),
    ...(Object.keys(local).length > 0 ? { providerOptions: { local } } : {}),
  };
}
