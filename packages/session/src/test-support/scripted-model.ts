import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type ModelCapabilities,
  type ToolCall,
} from '@shammah/provider';

/** One scripted answer: text (streamed in small deltas), native tool calls, or a failure. */
export interface ScriptedTurn {
  text?: string;
  toolCalls?: ToolCall[];
  error?: Error;
}

/** A chat model that plays a script, one turn per request, and keeps the requests it got. */
export class ScriptedModel implements ChatModel {
  readonly provider = 'scripted';
  readonly modelId = 'scripted-1';
  readonly capabilities: ModelCapabilities;
  readonly requests: ChatRequest[] = [];

  constructor(
    private readonly script: Array<ScriptedTurn | ((request: ChatRequest) => ScriptedTurn)>,
    options: { nativeTools?: boolean; contextLength?: number } = {},
  ) {
    this.capabilities = {
      tools: options.nativeTools ?? true,
      streaming: true,
      vision: false,
      contextLength: options.contextLength ?? 8192,
      maxOutputTokens: 1024,
    };
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    this.requests.push(request);
    const next = this.script.shift();
    if (!next) throw new Error('The script has no more turns.');
    const turn = typeof next === 'function' ? next(request) : next;
    if (turn.error) throw turn.error;
    const text = turn.text ?? '';
    for (let index = 0; index < text.length; index += 7) {
      await Promise.resolve();
      yield { type: 'text-delta', text: text.slice(index, index + 7) };
    }
    for (const call of turn.toolCalls ?? []) yield { type: 'tool-call', ...call };
    yield {
      type: 'finish',
      finishReason: (turn.toolCalls?.length ?? 0) > 0 ? 'tool-calls' : 'stop',
      usage: { inputTokens: 10, outputTokens: 5 },
    };
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}
