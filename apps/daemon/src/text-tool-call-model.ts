import {
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type Logger,
  type ModelCapabilities,
  silentLogger,
  type ToolChoice,
  type ToolDefinition,
} from '@shammah/provider';
import { buildToolSystemPrompt, type ExtractedPart, ToolSet, textToolCalls } from '@shammah/tools';
import type { LocalChatModel, LocalModelStatus } from './local-chat-model.js';

function choiceInstruction(choice: ToolChoice | undefined): string | undefined {
  if (choice === 'required') return 'Answer this message with a tool call.';
  if (typeof choice === 'object') return `Answer this message by calling the ${choice.name} tool.`;
  return undefined;
}

function hasToolHistory(request: ChatRequest): boolean {
  return request.messages.some(
    (message) =>
      message.role === 'tool' ||
      (message.role === 'assistant' &&
        Array.isArray(message.content) &&
        message.content.some((part) => part.type === 'tool-call')),
  );
}

/**
 * Gives a local model that writes tool calls as text the tool interface of a chat API: the client's
 * tools are described in the system prompt (Hermes format), earlier calls and results are rendered
 * as text the model can read, and the calls the model writes are parsed out of its answer by
 * `@shammah/tools` and streamed as `tool-call-*` parts. Tool-call text never reaches the answer's
 * text.
 */
export class TextToolCallModel implements LocalChatModel {
  readonly #inner: LocalChatModel;
  readonly #log: Logger;

  constructor(inner: LocalChatModel, options: { logger?: Logger } = {}) {
    this.#inner = inner;
    this.#log = (options.logger ?? silentLogger).child({ module: 'text-tool-calls' });
  }

  get provider(): string {
    return this.#inner.provider;
  }

  get modelId(): string {
    return this.#inner.modelId;
  }

  get capabilities(): ModelCapabilities {
    return { ...this.#inner.capabilities, tools: true };
  }

  get status(): LocalModelStatus {
    return this.#inner.status;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const tools: readonly ToolDefinition[] = request.toolChoice === 'none' ? [] : (request.tools ?? []);
    const { tools: _tools, toolChoice: _choice, ...plain } = request;
    if (tools.length === 0 && !hasToolHistory(request)) {
      yield* this.#inner.stream(plain);
      return;
    }
    const byName = new Map<string, string>();
    for (const tool of tools) byName.set(tool.name.toLowerCase(), tool.name);
    const declaredName = (name: string) => byName.get(name.toLowerCase());
    const instruction = choiceInstruction(request.toolChoice);
    const strategy = textToolCalls({
      systemPrompt:
        tools.length > 0
          ? () => buildToolSystemPrompt({ tools, ...(instruction ? { instructions: instruction } : {}) })
          : false,
      parser: { isKnownTool: (name) => declaredName(name) !== undefined },
    });
    const noTools = new ToolSet([]);
    const prepared = strategy.prepareRequest(request, noTools);
    if (tools.length === 0) {
      // Earlier tool calls are rendered as text, but no tool may be called now.
      yield* this.#inner.stream(prepared);
      return;
    }
    const extractor = strategy.createExtractor(noTools);
    let calls = 0;
    const convert = (extracted: ExtractedPart[]): ChatStreamPart[] =>
      extracted.flatMap((part): ChatStreamPart[] => {
        if (part.type === 'text') return part.text ? [{ type: 'text-delta', text: part.text }] : [];
        if (part.type === 'parse-error') {
          this.#log.warn(
            { raw: part.issue.raw, problem: part.issue.message },
            'unreadable tool call dropped',
          );
          return [];
        }
        const name = declaredName(part.call.name) ?? part.call.name;
        calls++;
        return [
          { type: 'tool-call-start', id: part.call.id, name },
          {
            type: 'tool-call-delta',
            id: part.call.id,
            argumentsDelta: JSON.stringify(part.call.input ?? {}),
          },
          { type: 'tool-call', id: part.call.id, name, input: part.call.input ?? {} },
        ];
      });
    for await (const part of this.#inner.stream(prepared)) {
      if (part.type === 'text-delta') {
        yield* convert(extractor.push(part));
      } else if (part.type === 'finish') {
        yield* convert(extractor.end());
        const finishReason = calls > 0 && part.finishReason !== 'abort' ? 'tool-calls' : part.finishReason;
        yield { ...part, finishReason };
      } else {
        yield part;
      }
    }
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}
