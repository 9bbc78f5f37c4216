/**
 * The chat-model specification. The local `Generator` and every cloud teacher implement
 * {@link ChatModel}, so the router and the tool loop treat them alike.
 */

/** A JSON Schema object describing a tool's input (draft 2020-12 / OpenAPI 3.1 subset). */
export type JsonSchema = Record<string, unknown>;

/** Plain text inside a message. */
export interface TextPart {
  type: 'text';
  text: string;
}

/** An image inside a user message or a tool result, base64-encoded. */
export interface ImagePart {
  type: 'image';
  /** Base64 data without the `data:` prefix. */
  data: string;
  /** e.g. `image/png`. */
  mediaType: string;
}

/** A tool call made by the assistant. */
export interface ToolCallPart {
  type: 'tool-call';
  /** Provider- or model-assigned id that the matching result refers to. */
  id: string;
  name: string;
  /** The parsed arguments. */
  input: unknown;
}

/** The result of running a tool, sent back to the model. */
export interface ToolResultPart {
  type: 'tool-result';
  toolCallId: string;
  /** The tool's name, for providers (Gemini) and chat templates that need it. */
  toolName: string;
  content: string | Array<TextPart | ImagePart>;
  isError?: boolean;
}

export interface SystemMessage {
  role: 'system';
  content: string;
}

export interface UserMessage {
  role: 'user';
  content: string | Array<TextPart | ImagePart>;
}

export interface AssistantMessage {
  role: 'assistant';
  content: string | Array<TextPart | ToolCallPart>;
}

export interface ToolMessage {
  role: 'tool';
  content: ToolResultPart[];
}

/** One message of a conversation. */
export type ChatMessage = SystemMessage | UserMessage | AssistantMessage | ToolMessage;

/** A tool the model may call. */
export interface ToolDefinition {
  name: string;
  /** Written for the model: what the tool does and when to use it. */
  description: string;
  inputSchema: JsonSchema;
}

/** Whether and which tool the model must call. */
export type ToolChoice = 'auto' | 'none' | 'required' | { type: 'tool'; name: string };

/** One request to a chat model. */
export interface ChatRequest {
  messages: ChatMessage[];
  tools?: ToolDefinition[];
  toolChoice?: ToolChoice;
  /** Upper bound on generated tokens. */
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  topK?: number;
  /** Text that ends generation when produced; never included in the output. */
  stop?: string[];
  /** Makes sampling reproducible where the model supports it. */
  seed?: number;
  /** Ask for per-token log-probabilities (used by the router's confidence check). */
  logprobs?: boolean;
  /** Cancels the request; the stream then ends with finish reason `abort`. */
  signal?: AbortSignal;
  /** Options only one provider understands, keyed by provider name. */
  providerOptions?: Record<string, Record<string, unknown>>;
}

/** Why generation ended. */
export type FinishReason = 'stop' | 'length' | 'tool-calls' | 'abort' | 'content-filter' | 'error';

/** Token counts for one request. */
export interface Usage {
  inputTokens: number;
  outputTokens: number;
  /** Input tokens served from a prompt cache (local prefix cache or provider cache). */
  cachedInputTokens?: number;
}

/** Timing figures, in milliseconds and tokens per second. */
export interface Timings {
  /** From the call to the first generated token. */
  timeToFirstTokenMs: number;
  totalMs: number;
  prefillTokensPerSecond?: number;
  decodeTokensPerSecond?: number;
}

/** The log-probability of one generated token. */
export interface TokenLogprob {
  token: string;
  logprob: number;
}

/** A completed tool call. */
export interface ToolCall {
  id: string;
  name: string;
  input: unknown;
}

/**
 * Which model is answering and why, sent by a router (`@shammah/router`) before the first part of
 * an answer. A router that switches models after the answer began sends another one with
 * `restart: true`: the text and tool calls streamed before it are abandoned, and the answer starts
 * again from the new model.
 */
export interface RouteStreamPart {
  type: 'route';
  /** `local` (the on-device model), `teacher` (a cloud model), or `builtin` (a fixed safety answer). */
  route: 'local' | 'teacher' | 'builtin';
  /** Provider of the answering model (`local`, `anthropic`, …). */
  provider: string;
  /** Id of the answering model. */
  model: string;
  /** A stable reason code, e.g. `local-default`, `local-loading`, `crisis`. */
  reason: string;
  /** The reason in words, for people. */
  message: string;
  /** True when this part replaces an answer that had already begun. */
  restart?: boolean;
}

/** One event of a streamed answer. */
export type ChatStreamPart =
  | RouteStreamPart
  | { type: 'text-delta'; text: string }
  | { type: 'tool-call-start'; id: string; name: string }
  | { type: 'tool-call-delta'; id: string; argumentsDelta: string }
  | ({ type: 'tool-call' } & ToolCall)
  | { type: 'logprobs'; logprobs: TokenLogprob[] }
  | {
      type: 'finish';
      finishReason: FinishReason;
      /** With finish reason `stop`: the stop string (of `ChatRequest.stop`) that ended the answer, when one did. */
      stopSequence?: string;
      usage: Usage;
      timings?: Timings;
      /** The model that actually answered (a provider may resolve an alias). */
      modelId?: string;
    };

/** A whole answer, as returned by {@link ChatModel.generate}. */
export interface ChatResult {
  text: string;
  toolCalls: ToolCall[];
  finishReason: FinishReason;
  /** The stop string that ended the answer, when one did. */
  stopSequence?: string;
  usage: Usage;
  timings?: Timings;
  logprobs?: TokenLogprob[];
  modelId?: string;
}

/** What a model can do, so callers can adapt. */
export interface ModelCapabilities {
  tools: boolean;
  streaming: boolean;
  vision: boolean;
  /** Context window in tokens. */
  contextLength: number;
  /** Most tokens one answer may have. */
  maxOutputTokens: number;
}

/**
 * A chat model: local or cloud.
 *
 * @example
 * ```ts
 * for await (const part of model.stream({ messages: [{ role: 'user', content: 'Hi' }] })) {
 *   if (part.type === 'text-delta') process.stdout.write(part.text);
 * }
 * ```
 */
export interface ChatModel {
  /** `local`, `anthropic`, `openai`, `gemini`, … */
  readonly provider: string;
  readonly modelId: string;
  readonly capabilities: ModelCapabilities;
  /** Streams an answer. Errors are thrown from the iterator; an abort ends it with `abort`. */
  stream(request: ChatRequest): AsyncIterable<ChatStreamPart>;
  /** The whole answer at once. */
  generate(request: ChatRequest): Promise<ChatResult>;
}
