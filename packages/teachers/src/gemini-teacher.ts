import { ApiError, GoogleGenAI } from '@google/genai';
import type {
  ChatRequest,
  ChatResult,
  ChatStreamPart,
  FinishReason,
  ToolCall,
  Usage,
} from '@shammah/provider';
import { isNetworkFailure } from './error-bodies.js';
import { localCallIdPrefix, toGeminiRequest } from './gemini-messages.js';
import { defaultModels } from './model-catalog.js';
import { type AttemptContext, type FailureDetails, TeacherBase } from './teacher.js';
import { resolveApiKey, type TeacherSettings } from './teacher-settings.js';

interface WireUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  thoughtsTokenCount?: number;
  cachedContentTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

interface WirePart {
  text?: string;
  thought?: boolean;
  thoughtSignature?: string;
  functionCall?: { id?: string; name?: string; args?: Record<string, unknown> };
}

interface WireResponse {
  modelVersion?: string;
  usageMetadata?: WireUsage;
  promptFeedback?: { blockReason?: string };
  candidates?: Array<{ content?: { parts?: WirePart[] }; finishReason?: string }>;
}

/** The last failed HTTP response of one request: the SDK's error keeps neither headers nor the raw body. */
interface FailedResponse {
  status: number;
  headers: Headers;
  body: string;
}

/** Thinking tokens are billed as output, so they count as output here. */
function toUsage(usage: WireUsage | undefined): Usage {
  const cached = usage?.cachedContentTokenCount ?? 0;
  return {
    inputTokens: (usage?.promptTokenCount ?? 0) + (usage?.toolUsePromptTokenCount ?? 0),
    outputTokens: (usage?.candidatesTokenCount ?? 0) + (usage?.thoughtsTokenCount ?? 0),
    ...(cached ? { cachedInputTokens: cached } : {}),
  };
}

function toFinishReason(reason: string, sawCall: boolean): FinishReason {
  switch (reason) {
    case 'STOP':
      return sawCall ? 'tool-calls' : 'stop';
    case 'MAX_TOKENS':
      return 'length';
    case 'SAFETY':
    case 'RECITATION':
    case 'BLOCKLIST':
    case 'PROHIBITED_CONTENT':
    case 'SPII':
    case 'IMAGE_SAFETY':
      return 'content-filter';
    default:
      return sawCall ? 'tool-calls' : 'error';
  }
}

/** Splits `https://host/v1beta` into the SDK's `baseUrl` and `apiVersion`. */
function geminiBase(url: string): { baseUrl: string; apiVersion?: string } {
  const trimmed = url.replace(/\/+$/, '');
  const match = /^(.*)\/(v\d+[a-z0-9]*)$/.exec(trimmed);
  return match ? { baseUrl: match[1]!, apiVersion: match[2]! } : { baseUrl: trimmed };
}

let localIds = 0;

/**
 * A teacher on Google's Gemini API (`generateContent` / `streamGenerateContent?alt=sse`), through the
 * official `@google/genai` SDK. Thought signatures of function calls are kept by call id, so a tool
 * loop's next request sends them back as Gemini 3 requires.
 */
export class GeminiTeacher extends TeacherBase {
  readonly #client: GoogleGenAI;
  readonly #fetch: typeof globalThis.fetch;
  readonly #signatures = new Map<string, string>();

  constructor(settings: TeacherSettings = {}) {
    const apiKey = resolveApiKey('gemini', settings, ['GEMINI_API_KEY', 'GOOGLE_API_KEY']);
    super({
      provider: 'gemini',
      providerLabel: 'Gemini',
      modelId: (settings.model ?? defaultModels.gemini).replace(/^models\//, ''),
      settings,
      keyHint: 'GEMINI_API_KEY, GOOGLE_API_KEY or api_key',
      secrets: [apiKey],
    });
    this.#fetch = settings.fetch ?? globalThis.fetch;
    const { baseUrl, apiVersion } = geminiBase(
      settings.baseURL ?? 'https://generativelanguage.googleapis.com',
    );
    this.#client = new GoogleGenAI({
      apiKey,
      ...(apiVersion ? { apiVersion } : {}),
      httpOptions: {
        baseUrl,
        ...(settings.headers ? { headers: settings.headers } : {}),
        // No `retryOptions`: the SDK does not retry, the teacher does.
      },
    });
  }

  #request(request: ChatRequest, context: AttemptContext, failures: FailedResponse[]) {
    const { contents, config } = toGeminiRequest(request, {
      signatureOf: (id) => this.#signatures.get(id),
      requireSignatures: /^gemini-[3-9]/.test(this.modelId),
    });
    const recordingFetch: typeof globalThis.fetch = async (input, init) => {
      const response = await this.#fetch(input, init);
      if (!response.ok) {
        const body = await response
          .clone()
          .text()
          .catch(() => '');
        failures.push({ status: response.status, headers: response.headers, body });
      }
      return response;
    };
    return {
      model: this.modelId,
      contents,
      config: { ...config, abortSignal: context.signal, httpOptions: { fetch: recordingFetch } },
    };
  }

  #remember(id: string, signature: string | undefined): void {
    if (!signature) return;
    this.#signatures.set(id, signature);
    if (this.#signatures.size > 1_000) {
      const oldest = this.#signatures.keys().next().value;
      if (oldest !== undefined) this.#signatures.delete(oldest);
    }
  }

  #toolCall(part: WirePart): ToolCall {
    localIds += 1;
    const id =
      part.functionCall?.id || `${localCallIdPrefix}${Date.now().toString(36)}${localIds.toString(36)}`;
    this.#remember(id, part.thoughtSignature);
    return { id, name: part.functionCall?.name ?? '', input: part.functionCall?.args ?? {} };
  }

  protected async *streamAttempt(
    request: ChatRequest,
    context: AttemptContext,
  ): AsyncIterable<ChatStreamPart> {
    const failures: FailedResponse[] = [];
    try {
      const stream = await this.#client.models.generateContentStream(
        this.#request(request, context, failures) as never,
      );
      let finishReason: FinishReason | undefined;
      let modelId: string | undefined;
      let sawCall = false;
      for await (const chunk of stream as AsyncIterable<WireResponse>) {
        if (chunk.modelVersion) modelId = chunk.modelVersion;
        if (chunk.usageMetadata) context.usage = toUsage(chunk.usageMetadata);
        const candidate = chunk.candidates?.[0];
        if (!candidate) {
          if (chunk.promptFeedback?.blockReason) finishReason = 'content-filter';
          continue;
        }
        for (const part of candidate.content?.parts ?? []) {
          if (part.thought) continue;
          if (typeof part.text === 'string' && part.text !== '')
            yield { type: 'text-delta', text: part.text };
          if (part.functionCall) {
            sawCall = true;
            const call = this.#toolCall(part);
            yield { type: 'tool-call-start', id: call.id, name: call.name };
            yield { type: 'tool-call-delta', id: call.id, argumentsDelta: JSON.stringify(call.input) };
            yield { type: 'tool-call', ...call };
          }
        }
        if (candidate.finishReason) finishReason = toFinishReason(candidate.finishReason, sawCall);
      }
      if (finishReason === undefined) throw this.truncatedStream();
      yield { type: 'finish', finishReason, usage: context.usage, ...(modelId ? { modelId } : {}) };
    } catch (error) {
      throw this.#withResponse(error, failures);
    }
  }

  protected async generateAttempt(request: ChatRequest, context: AttemptContext): Promise<ChatResult> {
    const failures: FailedResponse[] = [];
    try {
      const response = (await this.#client.models.generateContent(
        this.#request(request, context, failures) as never,
      )) as WireResponse;
      const candidate = response.candidates?.[0];
      let text = '';
      const toolCalls: ToolCall[] = [];
      for (const part of candidate?.content?.parts ?? []) {
        if (part.thought) continue;
        if (typeof part.text === 'string') text += part.text;
        if (part.functionCall) toolCalls.push(this.#toolCall(part));
      }
      const finishReason = candidate?.finishReason
        ? toFinishReason(candidate.finishReason, toolCalls.length > 0)
        : response.promptFeedback?.blockReason
          ? 'content-filter'
          : 'error';
      return {
        text,
        toolCalls,
        finishReason,
        usage: toUsage(response.usageMetadata),
        ...(response.modelVersion ? { modelId: response.modelVersion } : {}),
      };
    } catch (error) {
      throw this.#withResponse(error, failures);
    }
  }

  /** Attaches the failed response's headers and body, which the SDK's error lacks. */
  #withResponse(error: unknown, failures: FailedResponse[]): unknown {
    const failure = failures.at(-1);
    if (error instanceof ApiError && failure && failure.status === error.status) {
      return Object.assign(error, { shammahResponse: failure });
    }
    return error;
  }

  protected describeFailure(error: unknown): FailureDetails {
    if (error instanceof ApiError) {
      const response = (error as ApiError & { shammahResponse?: FailedResponse }).shammahResponse;
      if (response) return { statusCode: response.status, headers: response.headers, body: response.body };
      const json = error.message.indexOf('{');
      return { statusCode: error.status, body: json >= 0 ? error.message.slice(json) : error.message };
    }
    if (error instanceof Error && error.name === 'AbortError') return { aborted: true };
    if (isNetworkFailure(error)) return { network: true, providerMessage: String((error as Error).message) };
    return { network: true, providerMessage: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * A teacher on Google's Gemini models. The key defaults to `GEMINI_API_KEY`, then `GOOGLE_API_KEY`.
 *
 * @example
 * ```ts
 * const gemini = createGeminiTeacher({ model: 'gemini-2.5-flash' });
 * ```
 */
export function createGeminiTeacher(settings: TeacherSettings = {}): GeminiTeacher {
  return new GeminiTeacher(settings);
}
