import type {
  ChatRequest,
  ChatResult,
  ChatStreamPart,
  FinishReason,
  TokenLogprob,
  ToolCall,
  Usage,
} from '@shammah/provider';
import OpenAI, { APIConnectionError, APIConnectionTimeoutError, APIError, APIUserAbortError } from 'openai';
import { ErrorBodies, isNetworkFailure } from './error-bodies.js';
import { findModel, type TeacherProvider } from './model-catalog.js';
import { type OpenAIChatDialect, toOpenAIChatBody } from './openai-chat-messages.js';
import { type AttemptContext, type FailureDetails, parseToolInput, TeacherBase } from './teacher.js';
import type { TeacherSettings } from './teacher-settings.js';

/** Everything that tells one OpenAI-compatible provider from another. */
export interface OpenAIChatProfile {
  provider: TeacherProvider;
  label: string;
  baseURL: string;
  /** The key, or `undefined` for a server that needs none (no `Authorization` header is sent). */
  apiKey: string | undefined;
  keyHint: string;
  modelId: string;
  dialect: OpenAIChatDialect;
}

interface WireUsage {
  prompt_tokens?: number;
  completion_tokens?: number;
  prompt_tokens_details?: { cached_tokens?: number } | null;
}

interface WireToolCallDelta {
  index?: number;
  id?: string;
  function?: { name?: string; arguments?: string };
}

interface WireChunk {
  model?: string;
  usage?: WireUsage | null;
  x_groq?: { usage?: WireUsage };
  choices?: Array<{
    delta?: { content?: string | null; tool_calls?: WireToolCallDelta[] };
    finish_reason?: string | null;
    logprobs?: { content?: Array<{ token: string; logprob: number }> | null } | null;
  }>;
}

interface WireCompletion {
  model?: string;
  usage?: WireUsage;
  choices?: Array<{
    message?: {
      content?: string | null;
      tool_calls?: Array<{ id?: string; function?: { name?: string; arguments?: string } }>;
    };
    finish_reason?: string | null;
    logprobs?: { content?: Array<{ token: string; logprob: number }> | null } | null;
  }>;
}

function toUsage(usage: WireUsage | null | undefined): Usage | undefined {
  if (!usage) return undefined;
  const cached = usage.prompt_tokens_details?.cached_tokens;
  return {
    inputTokens: usage.prompt_tokens ?? 0,
    outputTokens: usage.completion_tokens ?? 0,
    ...(cached ? { cachedInputTokens: cached } : {}),
  };
}

function toFinishReason(reason: string): FinishReason {
  switch (reason) {
    case 'stop':
    case 'end_turn':
      return 'stop';
    case 'length':
    case 'model_length':
      return 'length';
    case 'tool_calls':
    case 'function_call':
      return 'tool-calls';
    case 'content_filter':
      return 'content-filter';
    default:
      return 'error';
  }
}

function toLogprobs(content: Array<{ token: string; logprob: number }> | null | undefined): TokenLogprob[] {
  return (content ?? []).map(({ token, logprob }) => ({ token, logprob }));
}

let generatedIds = 0;
function generatedCallId(): string {
  generatedIds += 1;
  return `call_${Date.now().toString(36)}${generatedIds.toString(36)}`;
}

/**
 * A teacher speaking OpenAI's Chat Completions protocol through the official `openai` SDK: OpenAI
 * itself, xAI (Grok), Mistral, Groq, and any compatible server (Ollama, llama.cpp, vLLM, LM Studio,
 * another Shammah daemon).
 */
export class OpenAIChatTeacher extends TeacherBase {
  readonly #client: OpenAI;
  readonly #errorBodies: ErrorBodies;
  readonly #dialect: OpenAIChatDialect;
  readonly #fixedSampling: boolean;

  constructor(profile: OpenAIChatProfile, settings: TeacherSettings) {
    super({
      provider: profile.provider,
      providerLabel: profile.label,
      modelId: profile.modelId,
      settings,
      keyHint: profile.keyHint,
      secrets: profile.apiKey ? [profile.apiKey] : [],
    });
    this.#dialect = profile.dialect;
    this.#fixedSampling = findModel(profile.provider, profile.modelId)?.fixedSampling ?? false;
    this.#errorBodies = new ErrorBodies(settings.fetch);
    this.#client = new OpenAI({
      apiKey: profile.apiKey ?? 'no-key',
      baseURL: profile.baseURL,
      // A keyless server gets no Authorization header at all.
      defaultHeaders: { ...settings.headers, ...(profile.apiKey ? {} : { Authorization: null }) },
      fetch: this.#errorBodies.fetch,
      maxRetries: 0,
      timeout: Math.max(this.timeoutMs, 600_000),
      logLevel: 'off',
      organization: null,
      project: null,
    });
  }

  #body(request: ChatRequest): Record<string, unknown> {
    return toOpenAIChatBody(request, this.modelId, this.#dialect, {
      fixedSampling: this.#fixedSampling,
      providerOptions: request.providerOptions?.[this.provider],
    });
  }

  protected async *streamAttempt(
    request: ChatRequest,
    context: AttemptContext,
  ): AsyncIterable<ChatStreamPart> {
    const body = {
      ...this.#body(request),
      stream: true,
      ...(this.#dialect.streamOptions ? { stream_options: { include_usage: true } } : {}),
    };
    const stream = (await this.#client.chat.completions.create(
      body as unknown as OpenAI.Chat.ChatCompletionCreateParamsStreaming,
      { signal: context.signal },
    )) as unknown as AsyncIterable<WireChunk>;
    const calls = new Map<number, { id: string; name: string; arguments: string; started: boolean }>();
    let finishReason: FinishReason | undefined;
    let modelId: string | undefined;
    for await (const chunk of stream) {
      if (chunk.model) modelId = chunk.model;
      const usage = toUsage(chunk.usage ?? chunk.x_groq?.usage);
      if (usage) context.usage = usage;
      const choice = chunk.choices?.[0];
      if (!choice) continue;
      const delta = choice.delta ?? {};
      if (typeof delta.content === 'string' && delta.content !== '') {
        yield { type: 'text-delta', text: delta.content };
      }
      for (const toolCall of delta.tool_calls ?? []) {
        const index = toolCall.index ?? calls.size;
        let call = calls.get(index);
        if (!call) {
          call = { id: toolCall.id || generatedCallId(), name: '', arguments: '', started: false };
          calls.set(index, call);
        }
        if (toolCall.function?.name && !call.name) call.name = toolCall.function.name;
        const argumentsDelta = toolCall.function?.arguments ?? '';
        call.arguments += argumentsDelta;
        if (!call.started && call.name) {
          call.started = true;
          yield { type: 'tool-call-start', id: call.id, name: call.name };
          if (call.arguments !== '')
            yield { type: 'tool-call-delta', id: call.id, argumentsDelta: call.arguments };
        } else if (call.started && argumentsDelta !== '') {
          yield { type: 'tool-call-delta', id: call.id, argumentsDelta };
        }
      }
      const logprobs = toLogprobs(choice.logprobs?.content);
      if (logprobs.length > 0) yield { type: 'logprobs', logprobs };
      if (choice.finish_reason) finishReason = toFinishReason(choice.finish_reason);
    }
    if (finishReason === undefined) throw this.truncatedStream();
    for (const index of [...calls.keys()].sort((a, b) => a - b)) {
      const call = calls.get(index)!;
      if (!call.started) {
        yield { type: 'tool-call-start', id: call.id, name: call.name };
        if (call.arguments !== '')
          yield { type: 'tool-call-delta', id: call.id, argumentsDelta: call.arguments };
      }
      yield { type: 'tool-call', id: call.id, name: call.name, input: parseToolInput(call.arguments) };
    }
    if (calls.size > 0 && finishReason === 'stop') finishReason = 'tool-calls';
    yield { type: 'finish', finishReason, usage: context.usage, ...(modelId ? { modelId } : {}) };
  }

  protected async generateAttempt(request: ChatRequest, context: AttemptContext): Promise<ChatResult> {
    const completion = (await this.#client.chat.completions.create(
      this.#body(request) as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming,
      { signal: context.signal },
    )) as unknown as WireCompletion;
    const choice = completion.choices?.[0];
    const toolCalls: ToolCall[] = (choice?.message?.tool_calls ?? []).map((call) => ({
      id: call.id || generatedCallId(),
      name: call.function?.name ?? '',
      input: parseToolInput(call.function?.arguments ?? ''),
    }));
    let finishReason = toFinishReason(choice?.finish_reason ?? 'stop');
    if (toolCalls.length > 0 && finishReason === 'stop') finishReason = 'tool-calls';
    const logprobs = toLogprobs(choice?.logprobs?.content);
    return {
      text: choice?.message?.content ?? '',
      toolCalls,
      finishReason,
      usage: toUsage(completion.usage) ?? { inputTokens: 0, outputTokens: 0 },
      ...(logprobs.length > 0 ? { logprobs } : {}),
      ...(completion.model ? { modelId: completion.model } : {}),
    };
  }

  protected describeFailure(error: unknown): FailureDetails {
    if (error instanceof APIUserAbortError) return { aborted: true };
    if (error instanceof APIConnectionTimeoutError) return { timeout: true };
    if (error instanceof APIConnectionError) return { network: true, providerMessage: error.message };
    if (error instanceof APIError) {
      const body = this.#errorBodies.bodyOf(error.headers) ?? error.error;
      if (error.status === undefined) {
        // An error event inside the stream: `{ error: { message, type, code } }`.
        const inner = (error.error ?? {}) as { message?: unknown; type?: unknown; code?: unknown };
        const code =
          typeof inner.code === 'string'
            ? inner.code
            : typeof inner.type === 'string'
              ? inner.type
              : undefined;
        return {
          body: error.error,
          ...(code ? { providerCode: code } : { network: true }),
          providerMessage: typeof inner.message === 'string' ? inner.message : error.message,
        };
      }
      return { statusCode: error.status, ...(error.headers ? { headers: error.headers } : {}), body };
    }
    if (isNetworkFailure(error)) return { network: true, providerMessage: String((error as Error).message) };
    if (error instanceof Error && error.name === 'AbortError') return { aborted: true };
    return { network: true, providerMessage: error instanceof Error ? error.message : String(error) };
  }
}
