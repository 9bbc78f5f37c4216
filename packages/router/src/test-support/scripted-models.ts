import {
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  collectStream,
  type ModelCapabilities,
  type ToolCall,
  type Usage,
} from '@shammah/provider';
import type { LocalModel, LocalModelStatus } from '../local-model.js';
import { estimateTokens } from '../request-analysis.js';

/** How a scripted model answers. */
export interface ScriptedModelOptions {
  provider?: string;
  modelId: string;
  /** A teacher-style display name. */
  name?: string;
  /** The answer; streamed one word (with its trailing space) per token. */
  text?: string;
  /** Log-probability of each token: one number for all, or one per token. Omit for a model that reports none. */
  logprobs?: number | readonly number[];
  toolCalls?: readonly ToolCall[];
  capabilities?: Partial<ModelCapabilities>;
  /** Throw `error` once `afterTokens` tokens have been streamed (0: before any). */
  failure?: { error: Error; afterTokens?: number };
  /** US dollars per million input and output tokens; gives the model a `costOf` like a real teacher. */
  price?: { input: number; output: number };
}

const defaultCapabilities: ModelCapabilities = {
  tools: true,
  streaming: true,
  vision: false,
  contextLength: 8192,
  maxOutputTokens: 2048,
};

/**
 * A small, honest chat model for tests: it streams a given answer token by token, reports
 * log-probabilities only when asked (as the local Generator does), stops on abort with finish
 * reason `abort`, throws the given error at the given point, and records every request it saw.
 */
export class ScriptedModel implements ChatModel {
  readonly provider: string;
  readonly modelId: string;
  readonly name: string | undefined;
  readonly capabilities: ModelCapabilities;
  readonly requests: ChatRequest[] = [];
  /** Streams that were closed before they finished (the consumer stopped reading). */
  abandoned = 0;
  options: ScriptedModelOptions;

  constructor(options: ScriptedModelOptions) {
    this.options = options;
    this.provider = options.provider ?? 'scripted';
    this.modelId = options.modelId;
    this.name = options.name;
    this.capabilities = { ...defaultCapabilities, ...options.capabilities };
  }

  costOf(usage: Usage): number | undefined {
    const price = this.options.price;
    if (!price) return undefined;
    return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
  }

  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    this.requests.push(request);
    const { text = '', logprobs, failure, toolCalls = [] } = this.options;
    const tokens = text.match(/\S+\s*|\s+/g) ?? [];
    let finished = false;
    try {
      for (let index = 0; index <= tokens.length; index += 1) {
        // Yield to the event loop between tokens, as a real model does.
        await new Promise<void>((resolve) => setImmediate(resolve));
        if (failure && (failure.afterTokens ?? 0) === index) throw failure.error;
        if (index === tokens.length) break;
        if (request.signal?.aborted) {
          finished = true;
          yield this.#finish(request, index, 'abort');
          return;
        }
        yield { type: 'text-delta', text: tokens[index]! };
        if (request.logprobs && logprobs !== undefined) {
          const logprob = typeof logprobs === 'number' ? logprobs : (logprobs[index] ?? logprobs.at(-1) ?? 0);
          yield { type: 'logprobs', logprobs: [{ token: tokens[index]!, logprob }] };
        }
      }
      for (const call of toolCalls) yield { type: 'tool-call', ...call };
      finished = true;
      yield this.#finish(request, tokens.length, toolCalls.length > 0 ? 'tool-calls' : 'stop');
    } finally {
      if (!finished) this.abandoned += 1;
    }
  }

  #finish(
    request: ChatRequest,
    outputTokens: number,
    finishReason: 'stop' | 'abort' | 'tool-calls',
  ): ChatStreamPart {
    return {
      type: 'finish',
      finishReason,
      usage: { inputTokens: estimateTokens(request), outputTokens },
      modelId: this.modelId,
    };
  }

  generate(request: ChatRequest): Promise<ChatResult> {
    return collectStream(this.stream(request));
  }
}

/** A scripted model with a settable load status, standing in for the local Generator. */
export class ScriptedLocalModel extends ScriptedModel implements LocalModel {
  override readonly provider = 'local';
  status: LocalModelStatus = { state: 'ready' };

  constructor(options: Omit<ScriptedModelOptions, 'provider'>) {
    super({ ...options, provider: 'local' });
  }
}

/** Every part of a stream, in order. */
export async function partsOf(stream: AsyncIterable<ChatStreamPart>): Promise<ChatStreamPart[]> {
  const parts: ChatStreamPart[] = [];
  for await (const part of stream) parts.push(part);
  return parts;
}

/** The text a caller would show: text deltas, restarted when a route part says so. */
export function shownText(parts: readonly ChatStreamPart[]): string {
  let text = '';
  for (const part of parts) {
    if (part.type === 'route' && part.restart) text = '';
    if (part.type === 'text-delta') text += part.text;
  }
  return text;
}

/** A one-message user request. */
export function ask(content: string, extra: Partial<ChatRequest> = {}): ChatRequest {
  return { messages: [{ role: 'user', content }], ...extra };
}
