import {
  type ChatMessage,
  type ChatModel,
  type ChatRequest,
  type ChatStreamPart,
  collectStream,
  type FinishReason,
  type ModelCapabilities,
  ShammahError,
  type ToolCall,
  type Usage,
} from '@shammah/provider';

/** The daemon answered with an error, or could not be reached. */
export class DaemonRequestError extends ShammahError {
  override readonly name = 'DaemonRequestError';
  readonly statusCode: number | undefined;
  constructor(message: string, options: { statusCode?: number; code?: string; cause?: unknown } = {}) {
    super(options.code ?? 'daemon_request_failed', message, options);
    this.statusCode = options.statusCode;
  }
}

type OpenAIMessage =
  | { role: 'system' | 'user'; content: string | Array<Record<string, unknown>> }
  | {
      role: 'assistant';
      content: string | null;
      tool_calls?: Array<{ id: string; type: 'function'; function: { name: string; arguments: string } }>;
    }
  | { role: 'tool'; tool_call_id: string; content: string };

/** A conversation in the OpenAI chat format the daemon speaks. */
export function toOpenAIMessages(messages: readonly ChatMessage[]): OpenAIMessage[] {
  return messages.flatMap((message): OpenAIMessage[] => {
    switch (message.role) {
      case 'system':
        return [{ role: 'system', content: message.content }];
      case 'user':
        return [
          {
            role: 'user',
            content:
              typeof message.content === 'string'
                ? message.content
                : message.content.map((part) =>
                    part.type === 'text'
                      ? { type: 'text', text: part.text }
                      : {
                          type: 'image_url',
                          image_url: { url: `data:${part.mediaType};base64,${part.data}` },
                        },
                  ),
          },
        ];
      case 'assistant': {
        if (typeof message.content === 'string') return [{ role: 'assistant', content: message.content }];
        const text = message.content.flatMap((part) => (part.type === 'text' ? [part.text] : [])).join('');
        const calls = message.content.flatMap((part) =>
          part.type === 'tool-call'
            ? [
                {
                  id: part.id,
                  type: 'function' as const,
                  function: { name: part.name, arguments: JSON.stringify(part.input ?? {}) },
                },
              ]
            : [],
        );
        return [{ role: 'assistant', content: text || null, ...(calls.length ? { tool_calls: calls } : {}) }];
      }
      case 'tool':
        return message.content.map((part) => ({
          role: 'tool' as const,
          tool_call_id: part.toolCallId,
          content:
            typeof part.content === 'string'
              ? part.content
              : part.content
                  .map((item) => (item.type === 'text' ? item.text : `[image ${item.mediaType}]`))
                  .join('\n'),
        }));
      default:
        return [];
    }
  });
}

const FINISH_REASONS: Record<string, FinishReason> = {
  stop: 'stop',
  length: 'length',
  tool_calls: 'tool-calls',
  content_filter: 'content-filter',
};

/** Settings of {@link DaemonChatModel}. */
export interface DaemonChatModelOptions {
  /** The daemon's base URL (`http://127.0.0.1:11435`). */
  url: () => string;
  /** The `model` to ask for: `auto`, `local`, or a teacher's name or model id. */
  model: string;
  /** Ties requests to one daemon session (its prefix cache). */
  sessionId?: string;
  /** Leaves tools out of requests (the daemon's local model is too small for them). */
  dropTools?: boolean;
  /** Per-request time-out while nothing arrives. */
  timeoutMs?: number;
  fetch?: typeof globalThis.fetch;
}

/** Reads server-sent events from a response body: yields each event's `data`. */
async function* serverSentData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  for await (const chunk of body as unknown as AsyncIterable<Uint8Array>) {
    buffer += decoder.decode(chunk, { stream: true });
    let boundary = buffer.search(/\r?\n\r?\n/);
    while (boundary >= 0) {
      const event = buffer.slice(0, boundary);
      buffer = buffer.slice(boundary).replace(/^\r?\n\r?\n/, '');
      const data = event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).replace(/^ /, ''))
        .join('\n');
      if (data) yield data;
      boundary = buffer.search(/\r?\n\r?\n/);
    }
  }
}

/**
 * The daemon's OpenAI-compatible chat endpoint as a {@link ChatModel}: streams with
 * `stream_options.include_usage`, reads the route from the `x-shammah-route` and `x-shammah-model`
 * headers (and sends it as a `route` part), and turns `tool_calls` deltas into `tool-call` parts,
 * so tools run here, in the client, as the original's pass-through did.
 */
export class DaemonChatModel implements ChatModel {
  readonly provider = 'shammah-daemon';
  readonly modelId: string;
  readonly capabilities: ModelCapabilities = {
    tools: true,
    streaming: true,
    vision: true,
    contextLength: 32768,
    maxOutputTokens: 8192,
  };
  readonly #options: DaemonChatModelOptions;

  constructor(options: DaemonChatModelOptions) {
    this.#options = options;
    this.modelId = options.model;
  }

  async *stream(request: ChatRequest): AsyncIterable<ChatStreamPart> {
    const started = performance.now();
    const fetcher = this.#options.fetch ?? globalThis.fetch;
    const tools = this.#options.dropTools ? [] : (request.tools ?? []);
    const body = {
      model: this.#options.model,
      messages: toOpenAIMessages(request.messages),
      stream: true,
      stream_options: { include_usage: true },
      ...(tools.length
        ? {
            tools: tools.map((tool) => ({
              type: 'function',
              function: { name: tool.name, description: tool.description, parameters: tool.inputSchema },
            })),
          }
        : {}),
      ...(request.maxTokens !== undefined ? { max_tokens: request.maxTokens } : {}),
      ...(request.temperature !== undefined ? { temperature: request.temperature } : {}),
      ...(request.topP !== undefined ? { top_p: request.topP } : {}),
      ...(request.stop?.length ? { stop: request.stop } : {}),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(this.#options.sessionId ? { metadata: { session_id: this.#options.sessionId } } : {}),
    };
    const usage: Usage = { inputTokens: 0, outputTokens: 0 };
    if (request.signal?.aborted) {
      yield { type: 'finish', finishReason: 'abort', usage };
      return;
    }
    let response: Response;
    try {
      response = await fetcher(`${this.#options.url()}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', accept: 'text/event-stream' },
        body: JSON.stringify(body),
        ...(request.signal ? { signal: request.signal } : {}),
      });
    } catch (error) {
      if (request.signal?.aborted) {
        yield { type: 'finish', finishReason: 'abort', usage };
        return;
      }
      throw new DaemonRequestError(
        `The daemon at ${this.#options.url()} cannot be reached (${(error as Error).message}). Check \`shammah daemon status\`, or use --direct.`,
        { cause: error },
      );
    }
    if (!response.ok || !response.body) {
      const text = await response.text().catch(() => '');
      let message = text.slice(0, 500);
      let code: string | undefined;
      try {
        const parsed = JSON.parse(text) as { error?: { message?: string; code?: string; type?: string } };
        message = parsed.error?.message ?? message;
        code = parsed.error?.code ?? undefined;
      } catch {
        // Not JSON: keep the text.
      }
      throw new DaemonRequestError(`The daemon answered ${response.status}: ${message}`, {
        statusCode: response.status,
        ...(code ? { code } : {}),
      });
    }
    const route = response.headers.get('x-shammah-route');
    const model = response.headers.get('x-shammah-model') ?? this.#options.model;
    if (route === 'local' || route === 'teacher' || route === 'builtin') {
      yield {
        type: 'route',
        route,
        provider: route === 'local' ? 'local' : 'daemon',
        model,
        reason: 'daemon',
        message: 'chosen by the daemon',
      };
    }
    const calls = new Map<number, { id: string; name: string; arguments: string }>();
    let finishReason: FinishReason = 'stop';
    let firstTokenAt: number | undefined;
    try {
      for await (const data of serverSentData(response.body)) {
        if (data === '[DONE]') break;
        const chunk = JSON.parse(data) as {
          choices?: Array<{
            delta?: {
              content?: string | null;
              tool_calls?: Array<{
                index: number;
                id?: string;
                function?: { name?: string; arguments?: string };
              }>;
            };
            finish_reason?: string | null;
          }>;
          usage?: {
            prompt_tokens?: number;
            completion_tokens?: number;
            prompt_tokens_details?: { cached_tokens?: number };
          };
          error?: { message?: string; code?: string };
        };
        if (chunk.error) {
          throw new DaemonRequestError(
            `The daemon failed mid-answer: ${chunk.error.message ?? 'unknown error'}`,
            {
              ...(chunk.error.code ? { code: chunk.error.code } : {}),
            },
          );
        }
        if (chunk.usage) {
          usage.inputTokens = chunk.usage.prompt_tokens ?? 0;
          usage.outputTokens = chunk.usage.completion_tokens ?? 0;
          const cached = chunk.usage.prompt_tokens_details?.cached_tokens;
          if (cached) usage.cachedInputTokens = cached;
        }
        const choice = chunk.choices?.[0];
        if (!choice) continue;
        const delta = choice.delta;
        if (delta?.content) {
          firstTokenAt ??= performance.now();
          yield { type: 'text-delta', text: delta.content };
        }
        for (const call of delta?.tool_calls ?? []) {
          firstTokenAt ??= performance.now();
          const known = calls.get(call.index);
          if (!known) {
            const id = call.id ?? `call_${call.index}`;
            const entry = { id, name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' };
            calls.set(call.index, entry);
            yield { type: 'tool-call-start', id, name: entry.name };
          } else {
            if (call.function?.name) known.name += call.function.name;
            if (call.function?.arguments) known.arguments += call.function.arguments;
          }
        }
        if (choice.finish_reason) finishReason = FINISH_REASONS[choice.finish_reason] ?? 'stop';
      }
    } catch (error) {
      if (request.signal?.aborted) {
        yield { type: 'finish', finishReason: 'abort', usage };
        return;
      }
      if (error instanceof DaemonRequestError) throw error;
      throw new DaemonRequestError(`The daemon's answer broke off: ${(error as Error).message}`, {
        cause: error,
      });
    }
    for (const call of calls.values()) {
      let input: unknown = {};
      try {
        input = call.arguments.trim() ? JSON.parse(call.arguments) : {};
      } catch {
        input = call.arguments;
      }
      const toolCall: ToolCall = { id: call.id, name: call.name, input };
      yield { type: 'tool-call', ...toolCall };
    }
    const ended = performance.now();
    const decodeSeconds = firstTokenAt !== undefined ? (ended - firstTokenAt) / 1000 : 0;
    yield {
      type: 'finish',
      finishReason: request.signal?.aborted ? 'abort' : finishReason,
      usage,
      timings: {
        timeToFirstTokenMs: (firstTokenAt ?? ended) - started,
        totalMs: ended - started,
        ...(usage.outputTokens > 1 && decodeSeconds > 0
          ? { decodeTokensPerSecond: (usage.outputTokens - 1) / decodeSeconds }
          : {}),
      },
      modelId: model,
    };
  }

  generate(request: ChatRequest) {
    return collectStream(this.stream(request));
  }
}
