import type { ChatMessage, ChatRequest, ChatStreamPart, ToolCall } from '@shammah/provider';
import { buildToolSystemPrompt } from './system-prompt.js';
import {
  IncrementalToolCallParser,
  type ToolCallParseIssue,
  type ToolCallParserOptions,
} from './tool-call-parser.js';
import type { ToolSet } from './tool-set.js';

/** What a {@link ToolCallExtractor} makes of a model's stream. */
export type ExtractedPart =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; call: ToolCall }
  | { type: 'parse-error'; issue: ToolCallParseIssue };

/** Turns one model answer's stream parts into answer text and tool calls. */
export interface ToolCallExtractor {
  push(part: ChatStreamPart): ExtractedPart[];
  end(): ExtractedPart[];
}

/**
 * How tools reach a model and its calls come back: natively through the chat API (`tools` in the
 * request, `tool-call` stream parts), or as text the model writes and a parser reads.
 */
export interface ToolCallStrategy {
  readonly name: string;
  /** The request to send for this turn. */
  prepareRequest(request: ChatRequest, tools: ToolSet): ChatRequest;
  /** A fresh extractor for one answer. */
  createExtractor(tools: ToolSet): ToolCallExtractor;
}

/** For models whose API takes tools and returns `tool-call` parts: the cloud teachers. */
export function nativeToolCalls(): ToolCallStrategy {
  return {
    name: 'native',
    prepareRequest: (request, tools) => ({ ...request, tools: tools.definitions() }),
    createExtractor: () => ({
      push(part) {
        if (part.type === 'text-delta') return [{ type: 'text', text: part.text }];
        if (part.type === 'tool-call')
          return [{ type: 'tool-call', call: { id: part.id, name: part.name, input: part.input } }];
        return [];
      },
      end: () => [],
    }),
  };
}

/** Options of {@link textToolCalls}. */
export interface TextToolCallsOptions {
  /**
   * Adds {@link buildToolSystemPrompt}'s description of the tools to the system message (default true).
   * A function builds the text itself. Turn it off when the model's chat template already renders `tools`.
   */
  systemPrompt?: boolean | ((tools: ToolSet) => string);
  /**
   * Sends earlier tool calls and results as text (`<tool_call>` in the assistant's message,
   * `<tool_response>` in a user message), so chat templates without tool roles work (default true).
   */
  renderToolMessages?: boolean;
  parser?: ToolCallParserOptions;
}

function renderMessages(messages: readonly ChatMessage[]): ChatMessage[] {
  return messages.map((message): ChatMessage => {
    if (message.role === 'assistant' && Array.isArray(message.content)) {
      const text = message.content
        .map((part) =>
          part.type === 'text'
            ? part.text
            : `<tool_call>\n${JSON.stringify({ name: part.name, arguments: part.input ?? {} })}\n</tool_call>`,
        )
        .join('\n');
      return { role: 'assistant', content: text };
    }
    if (message.role === 'tool') {
      const text = message.content
        .map((part) => {
          const content =
            typeof part.content === 'string'
              ? part.content
              : part.content
                  .map((item) => (item.type === 'text' ? item.text : `[image ${item.mediaType}]`))
                  .join('\n');
          return `<tool_response>\n${part.isError ? `Error: ${content}` : content}\n</tool_response>`;
        })
        .join('\n');
      return { role: 'user', content: text };
    }
    return message;
  });
}

/**
 * For models that write tool calls as text: the local model. Describes the tools in the system prompt
 * (Hermes format), parses calls out of the streamed text with {@link IncrementalToolCallParser}, and
 * stops the model when it starts inventing a `<tool_response>` itself.
 */
export function textToolCalls(options: TextToolCallsOptions = {}): ToolCallStrategy {
  const { systemPrompt = true, renderToolMessages = true } = options;
  return {
    name: 'text',
    prepareRequest(request, tools) {
      let messages = renderToolMessages ? renderMessages(request.messages) : [...request.messages];
      if (systemPrompt !== false) {
        const prompt =
          typeof systemPrompt === 'function' ? systemPrompt(tools) : buildToolSystemPrompt({ tools });
        const [first, ...rest] = messages;
        messages =
          first?.role === 'system'
            ? [{ role: 'system', content: `${first.content}\n\n${prompt}` }, ...rest]
            : [{ role: 'system', content: prompt }, ...messages];
      }
      const { tools: _tools, toolChoice: _choice, ...rest } = request;
      return { ...rest, messages, stop: [...(request.stop ?? []), '<tool_response>'] };
    },
    createExtractor(tools) {
      const parser = new IncrementalToolCallParser({
        isKnownTool: (name) => tools.get(name) !== undefined,
        ...options.parser,
      });
      const convert = (events: ReturnType<IncrementalToolCallParser['push']>): ExtractedPart[] =>
        events.map((event) =>
          event.type === 'tool-call'
            ? {
                type: 'tool-call',
                call: { id: event.call.id, name: event.call.name, input: event.call.input },
              }
            : event,
        );
      return {
        push(part) {
          if (part.type === 'text-delta') return convert(parser.push(part.text));
          if (part.type === 'tool-call')
            return [{ type: 'tool-call', call: { id: part.id, name: part.name, input: part.input } }];
          return [];
        },
        end: () => convert(parser.end()),
      };
    },
  };
}
