import Anthropic, {
  APIConnectionError,
  APIConnectionTimeoutError,
  APIError,
  APIUserAbortError,
} from '@anthropic-ai/sdk';
import type {
  ChatRequest,
  ChatResult,
  ChatStreamPart,
  FinishReason,
  ToolCall,
  Usage,
} from '@shammah/provider';
import { toAnthropicBody } from './anthropic-messages.js';
import { ErrorBodies, isNetworkFailure } from './error-bodies.js';
import { defaultModels } from './model-catalog.js';
import { type AttemptContext, type FailureDetails, parseToolInput, TeacherBase } from './teacher.js';
import { resolveApiKey, type TeacherSettings } from './teacher-settings.js';

interface WireUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
}

type WireBlock =
  | { type: 'text'; text: string }
  | { type: 'tool_use'; id: string; name: string; input: unknown }
  | { type: string; [key: string]: unknown };

type WireEvent =
  | { type: 'message_start'; message: { model?: string; usage?: WireUsage } }
  | { type: 'content_block_start'; index: number; content_block: WireBlock }
  | {
      type: 'content_block_delta';
      index: number;
      delta:
        | { type: 'text_delta'; text: string }
        | { type: 'input_json_delta'; partial_json: string }
        | { type: string };
    }
  | { type: 'content_block_stop'; index: number }
  | { type: 'message_delta'; delta: { stop_reason?: string | null }; usage?: WireUsage }
  | { type: 'message_stop' }
  | { type: string };

/** Anthropic counts cache reads and writes apart from `input_tokens`; Shammah's input count includes them. */
function toUsage(usage: WireUsage | undefined, previous?: Usage): Usage {
  const read = usage?.cache_read_input_tokens ?? 0;
  const written = usage?.cache_creation_input_tokens ?? 0;
  const input = usage?.input_tokens;
  const inputTokens =
    input === undefined || input === null ? (previous?.inputTokens ?? 0) : input + read + written;
  const cachedInputTokens = input === undefined || input === null ? previous?.cachedInputTokens : read;
  return {
    inputTokens,
    outputTokens: usage?.output_tokens ?? previous?.outputTokens ?? 0,
    ...(cachedInputTokens ? { cachedInputTokens } : {}),
  };
}

function toFinishReason(reason: string | null | undefined): FinishReason {
  switch (reason) {
    case 'end_turn':
    case 'stop_sequence':
    case 'pause_turn':
      return 'stop';
    case 'max_tokens':
    case 'model_context_window_exceeded':
      return 'length';
    case 'tool_use':
      return 'tool-calls';
    case 'refusal':
      return 'content-filter';
    default:
      return reason ? 'error' : 'stop';
  }
}

/** Removes a trailing `/v1` and slash: the SDK adds `/v1/messages` to the base URL itself. */
function anthropicBaseURL(url: string): string {
  return url.replace(/\/+$/, '').replace(/\/v1$/, '');
}

/** A teacher on Anthropic's Messages API, through the official `@anthropic-ai/sdk`. */
export class AnthropicTeacher extends TeacherBase {
  readonly #client: Anthropic;
  readonly #errorBodies: ErrorBodies;

  constructor(settings: TeacherSettings = {}) {
    const apiKey = resolveApiKey('anthropic', settings, ['ANTHROPIC_API_KEY']);
    super({
      provider: 'anthropic',
      providerLabel: 'Anthropic',
      modelId: settings.model ?? defaultModels.anthropic,
      settings,
      keyHint: 'ANTHROPIC_API_KEY or api_key',
      secrets: [apiKey],
    });
    this.#errorBodies = new ErrorBodies(settings.fetch);
    this.#client = new Anthropic({
      apiKey,
      baseURL: anthropicBaseURL(settings.baseURL ?? 'https://api.anthropic.com'),
      ...(settings.headers ? { defaultHeaders: settings.headers } : {}),
      fetch: this.#errorBodies.fetch,
      maxRetries: 0,
      // Set explicitly, which also keeps the SDK from refusing large non-streamed `max_tokens`.
      timeout: Math.max(this.timeoutMs, 600_000),
      logLevel: 'off',
      openTelemetry: false,
    });
  }

  #body(request: ChatRequest): Record<string, unknown> {
    return toAnthropicBody(request, this.modelId, Math.min(this.capabilities.maxOutputTokens, 8_192));
  }

  protected async *streamAttempt(
    request: ChatRequest,
    context: AttemptContext,
  ): AsyncIterable<ChatStreamPart> {
    const stream = (await this.#client.messages.create(
      { ...this.#body(request), stream: true } as unknown as Anthropic.MessageCreateParamsStreaming,
      { signal: context.signal },
    )) as unknown as AsyncIterable<WireEvent>;
    const toolBlocks = new Map<number, { id: string; name: string; json: string }>();
    let stopReason: string | null | undefined;
    let modelId: string | undefined;
    let stopped = false;
    for await (const event of stream) {
      switch (event.type) {
        case 'message_start': {
          const { message } = event as Extract<WireEvent, { type: 'message_start' }>;
          modelId = message.model;
          context.usage = toUsage(message.usage);
          break;
        }
        case 'content_block_start': {
          const { index, content_block: block } = event as Extract<
            WireEvent,
            { type: 'content_block_start' }
          >;
          if (block.type === 'tool_use') {
            const { id, name } = block as { id: string; name: string };
            toolBlocks.set(index, { id, name, json: '' });
            yield { type: 'tool-call-start', id, name };
          } else if (block.type === 'text' && typeof block.text === 'string' && block.text !== '') {
            yield { type: 'text-delta', text: block.text };
          }
          break;
        }
        case 'content_block_delta': {
          const { index, delta } = event as Extract<WireEvent, { type: 'content_block_delta' }>;
          if (delta.type === 'text_delta') {
            const { text } = delta as { text: string };
            if (text !== '') yield { type: 'text-delta', text };
          } else if (delta.type === 'input_json_delta') {
            const block = toolBlocks.get(index);
            const { partial_json: json } = delta as { partial_json: string };
            if (block && json !== '') {
              block.json += json;
              yield { type: 'tool-call-delta', id: block.id, argumentsDelta: json };
            }
          }
          break;
        }
        case 'content_block_stop': {
          const { index } = event as Extract<WireEvent, { type: 'content_block_stop' }>;
          const block = toolBlocks.get(index);
          if (block)
            yield { type: 'tool-call', id: block.id, name: block.name, input: parseToolInput(block.json) };
          break;
        }
        case 'message_delta': {
          const { delta, usage } = event as Extract<WireEvent, { type: 'message_delta' }>;
          stopReason = delta.stop_reason;
          context.usage = toUsage(usage, context.usage);
          break;
        }
        case 'message_stop':
          stopped = true;
          break;
        default:
          break;
      }
    }
    if (!stopped) throw this.truncatedStream();
    yield {
      type: 'finish',
      finishReason: toFinishReason(stopReason),
      usage: context.usage,
      ...(modelId ? { modelId } : {}),
    };
  }

  protected async generateAttempt(request: ChatRequest, context: AttemptContext): Promise<ChatResult> {
    const message = (await this.#client.messages.create(
      this.#body(request) as unknown as Anthropic.MessageCreateParamsNonStreaming,
      { signal: context.signal },
    )) as unknown as { model?: string; content: WireBlock[]; stop_reason: string | null; usage: WireUsage };
    let text = '';
    const toolCalls: ToolCall[] = [];
    for (const block of message.content) {
      if (block.type === 'text') text += (block as { text: string }).text;
      else if (block.type === 'tool_use') {
        const { id, name, input } = block as { id: string; name: string; input: unknown };
        toolCalls.push({ id, name, input });
      }
    }
    return {
      text,
      toolCalls,
      finishReason: toFinishReason(message.stop_reason),
      usage: toUsage(message.usage),
      ...(message.model ? { modelId: message.model } : {}),
    };
  }

  protected describeFailure(error: unknown): FailureDetails {
    if (error instanceof APIUserAbortError) return { aborted: true };
    if (error instanceof APIConnectionTimeoutError) return { timeout: true };
    if (error instanceof APIConnectionError) return { network: true, providerMessage: error.message };
    if (error instanceof APIError) {
      const body = this.#errorBodies.bodyOf(error.headers) ?? error.error;
      const inner = (error.error as { error?: { type?: unknown; message?: unknown } } | undefined)?.error;
      return {
        ...(error.status !== undefined ? { statusCode: error.status } : {}),
        ...(error.headers ? { headers: error.headers } : {}),
        body,
        ...(typeof inner?.type === 'string' ? { providerCode: inner.type } : {}),
        ...(typeof inner?.message === 'string' ? { providerMessage: inner.message } : {}),
      };
    }
    if (isNetworkFailure(error)) return { network: true, providerMessage: String((error as Error).message) };
    if (error instanceof Error && error.name === 'AbortError') return { aborted: true };
    return { network: true, providerMessage: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A teacher on Anthropic's Claude models. The key defaults to `ANTHROPIC_API_KEY`.
 *
 * @example
 * ```ts
 * const claude = createAnthropicTeacher({ model: 'claude-sonnet-4-5', name: 'Claude' });
 * for await (const part of claude.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (part.type === 'text-delta') process.stdout.write(part.text);
 * }
 * ```
 */
export function createAnthropicTeacher(settings: TeacherSettings = {}): AnthropicTeacher {
  return new AnthropicTeacher(settings);
}
