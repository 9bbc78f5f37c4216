import {
  type ApiCallError,
  type ChatModel,
  type ChatRequest,
  type ChatResult,
  type ChatStreamPart,
  type Logger,
  type ModelCapabilities,
  silentLogger,
  type Usage,
} from '@shammah/provider';
import { type FailedCall, toApiCallError } from './api-error.js';
import { isApiCallError } from './errors.js';
import { capabilitiesFor, type TeacherProvider } from './model-catalog.js';
import { CostTracker, type UsageTotals } from './pricing.js';
import { defaultRetryPolicy, type RetryPolicy, retryDelay, sleep } from './retry.js';
import type { TeacherSettings } from './teacher-settings.js';

/** A cloud (or remote) chat model that can stand in for the local one, with its usage totals. */
export interface Teacher extends ChatModel {
  readonly provider: TeacherProvider;
  /** Display name, e.g. `Claude`. */
  readonly name: string;
  /** Tokens and estimated cost of every request so far. */
  readonly totals: UsageTotals;
  /** The estimated cost in US dollars of `usage` on this teacher's model, if its price is known. */
  costOf(usage: Usage): number | undefined;
}

/** What an adapter's attempt shares with the retry loop. */
export interface AttemptContext {
  /** Aborted on the caller's abort, on time-out, and when the attempt is abandoned. */
  signal: AbortSignal;
  /** Usage known so far; adapters update it as the stream reveals it, so an abort still counts it. */
  usage: Usage;
}

/** The facts about a failure an adapter can read from its SDK's error. */
export type FailureDetails = Pick<
  FailedCall,
  'statusCode' | 'headers' | 'body' | 'providerCode' | 'providerMessage' | 'network' | 'timeout' | 'aborted'
>;

/** What a subclass passes to {@link TeacherBase}. */
export interface TeacherInit {
  provider: TeacherProvider;
  providerLabel: string;
  modelId: string;
  settings: TeacherSettings;
  /** Where the key comes from, for auth error messages. */
  keyHint: string;
  /** The API key(s) to cut out of errors; the values of `settings.headers` are added to them. */
  secrets: readonly string[];
}

/**
 * Everything to redact: the API key and every configured header value, since headers carry credentials
 * too (a gateway token, `Authorization`, `cf-aig-authorization`).
 */
function secretsOf(init: TeacherInit): readonly string[] {
  const headerValues = Object.values(init.settings.headers ?? {}).filter(
    (value): value is string => typeof value === 'string' && value.trim() !== '',
  );
  // A bearer header's token also appears on its own (`Bearer abc…` quoted as `abc…`).
  const bearerTokens = headerValues
    .map((value) => /^\s*(?:bearer|basic|token)\s+(\S+)\s*$/i.exec(value)?.[1])
    .filter((token): token is string => token !== undefined);
  // Longest first, so a value containing another is cut whole.
  return [...new Set([...init.secrets, ...headerValues, ...bearerTokens])].sort(
    (a, b) => b.length - a.length,
  );
}

const nonStreamingFloorMs = 600_000;

class Attempt {
  readonly controller = new AbortController();
  timedOut = false;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #onOuterAbort = () => this.controller.abort(this.outer?.reason);

  constructor(
    private readonly outer: AbortSignal | undefined,
    private readonly timeoutMs: number,
  ) {
    outer?.addEventListener('abort', this.#onOuterAbort, { once: true });
    this.touch();
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  /** Restarts the silence timer. */
  touch(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.timedOut = true;
      this.controller.abort(new Error(`No response within ${this.timeoutMs} ms`));
    }, this.timeoutMs);
  }

  /** Stops the timer and releases the connection if it is still open. */
  dispose(): void {
    clearTimeout(this.#timer);
    this.outer?.removeEventListener('abort', this.#onOuterAbort);
    if (!this.controller.signal.aborted) this.controller.abort();
  }
}

function emptyUsage(): Usage {
  return { inputTokens: 0, outputTokens: 0 };
}

/**
 * The retry loop, time-outs, abort handling, timings and cost accounting that every adapter shares.
 * An adapter implements one attempt of `stream` and of `generate`, and says how to read its SDK's errors.
 */
export abstract class TeacherBase implements Teacher {
  readonly provider: TeacherProvider;
  readonly modelId: string;
  readonly name: string;
  readonly capabilities: ModelCapabilities;
  protected readonly logger: Logger;
  protected readonly retryPolicy: RetryPolicy;
  protected readonly timeoutMs: number;
  readonly #costs: CostTracker;
  readonly #init: TeacherInit;

  constructor(init: TeacherInit) {
    const { settings } = init;
    this.#init = { ...init, secrets: secretsOf(init) };
    this.provider = init.provider;
    this.modelId = init.modelId;
    this.name = settings.name ?? `${init.provider}:${init.modelId}`;
    this.capabilities = capabilitiesFor(init.provider, init.modelId, settings.capabilities);
    this.logger = (settings.logger ?? silentLogger).child({
      module: 'teachers',
      teacher: this.name,
      provider: init.provider,
      model: init.modelId,
    });
    this.retryPolicy = { ...defaultRetryPolicy, ...settings.retry };
    this.timeoutMs = settings.timeoutMs ?? 120_000;
    this.#costs = new CostTracker(init.provider, settings.prices);
  }

  /** One streamed attempt. Throw the SDK's error; the base classifies it and decides on a retry. */
  protected abstract streamAttempt(
    request: ChatRequest,
    context: AttemptContext,
  ): AsyncIterable<ChatStreamPart>;

  /** One non-streamed attempt. */
  protected abstract generateAttempt(request: ChatRequest, context: AttemptContext): Promise<ChatResult>;

  /** Reads status, headers and body from the SDK's error. */
  protected abstract describeFailure(error: unknown): FailureDetails;

  /** Tokens and estimated cost of every finished (or aborted) request so far. */
  get totals(): UsageTotals {
    return this.#costs.totals;
  }

  /** The estimated cost in US dollars of `usage` on this teacher's model, if its price is known. */
  costOf(usage: Usage): number | undefined {
    return this.#costs.costOf(usage, this.modelId);
  }

  /** Classifies any error thrown during an attempt. */
  protected toError(error: unknown, timedOut = false): ApiCallError {
    if (isApiCallError(error) && !timedOut) return error;
    const details = timedOut ? {} : this.describeFailure(error);
    return toApiCallError({
      provider: this.provider,
      providerLabel: this.#init.providerLabel,
      modelId: this.modelId,
      keyHint: this.#init.keyHint,
      secrets: this.#init.secrets,
      ...details,
      ...(timedOut ? { timeout: true } : {}),
      cause: error,
    });
  }

  /** An error for a stream that ended before its finish event. */
  protected truncatedStream(): ApiCallError {
    return toApiCallError({
      provider: this.provider,
      providerLabel: this.#init.providerLabel,
      modelId: this.modelId,
      network: true,
      providerMessage: 'the stream ended before the answer was complete',
    });
  }

  #record(usage: Usage, modelId: string | undefined): void {
    const cost = this.#costs.add(usage, modelId ?? this.modelId);
    this.logger.debug(
      { inputTokens: usage.inputTokens, outputTokens: usage.outputTokens, costUsd: cost },
      'teacher request finished',
    );
  }

  #onFailure(error: ApiCallError, retry: number, canRetry: boolean): number | undefined {
    const delay = canRetry ? retryDelay(error, retry, this.retryPolicy) : undefined;
    const fields = { kind: error.kind, statusCode: error.statusCode, retryAfterMs: error.retryAfterMs };
    if (delay === undefined) this.logger.warn({ ...fields, attempts: retry + 1 }, 'teacher request failed');
    else
      this.logger.warn(
        { ...fields, retry: retry + 1, delayMs: Math.round(delay) },
        'retrying teacher request',
      );
    return delay;
  }

  /**
   * Streams an answer. Failures before the first part are retried by the policy; later ones are
   * thrown as {@link ApiCallError}. An abort ends the stream with finish reason `abort`.
   */
  async *stream(request: ChatRequest): AsyncGenerator<ChatStreamPart> {
    const started = performance.now();
    let firstTokenAt: number | undefined;
    let usage = emptyUsage();
    const abortPart = (): ChatStreamPart => {
      this.#record(usage, undefined);
      return { type: 'finish', finishReason: 'abort', usage };
    };
    if (request.signal?.aborted) {
      yield abortPart();
      return;
    }
    this.logger.debug(
      { messages: request.messages.length, tools: request.tools?.length ?? 0, stream: true },
      'teacher request',
    );
    for (let retry = 0; ; retry += 1) {
      const attempt = new Attempt(request.signal, this.timeoutMs);
      const context: AttemptContext = { signal: attempt.signal, usage: emptyUsage() };
      let yielded = false;
      try {
        for await (const part of this.streamAttempt(request, context)) {
          attempt.touch();
          usage = context.usage;
          if (part.type === 'finish') {
            const totalMs = performance.now() - started;
            this.#record(part.usage, part.modelId);
            yield {
              ...part,
              timings: {
                timeToFirstTokenMs: (firstTokenAt ?? performance.now()) - started,
                totalMs,
                ...(part.usage.outputTokens > 0 &&
                firstTokenAt !== undefined &&
                totalMs > firstTokenAt - started
                  ? {
                      decodeTokensPerSecond:
                        part.usage.outputTokens / ((totalMs - (firstTokenAt - started)) / 1000),
                    }
                  : {}),
              },
            };
            return;
          }
          if (firstTokenAt === undefined && part.type !== 'logprobs') firstTokenAt = performance.now();
          yielded = true;
          yield part;
        }
        throw this.truncatedStream();
      } catch (error) {
        usage = context.usage;
        if (request.signal?.aborted) {
          yield abortPart();
          return;
        }
        const apiError = this.toError(error, attempt.timedOut);
        const delay = this.#onFailure(apiError, retry, !yielded);
        if (delay === undefined) throw apiError;
        try {
          await sleep(delay, request.signal);
        } catch {
          yield abortPart();
          return;
        }
      } finally {
        attempt.dispose();
      }
    }
  }

  /** The whole answer from the provider's non-streaming endpoint, with the same retries. */
  async generate(request: ChatRequest): Promise<ChatResult> {
    const started = performance.now();
    const aborted = (usage: Usage): ChatResult => {
      this.#record(usage, undefined);
      return { text: '', toolCalls: [], finishReason: 'abort', usage };
    };
    if (request.signal?.aborted) return aborted(emptyUsage());
    this.logger.debug(
      { messages: request.messages.length, tools: request.tools?.length ?? 0, stream: false },
      'teacher request',
    );
    for (let retry = 0; ; retry += 1) {
      const attempt = new Attempt(request.signal, Math.max(this.timeoutMs, nonStreamingFloorMs));
      const context: AttemptContext = { signal: attempt.signal, usage: emptyUsage() };
      try {
        const result = await this.generateAttempt(request, context);
        const totalMs = performance.now() - started;
        this.#record(result.usage, result.modelId);
        return { ...result, timings: { timeToFirstTokenMs: totalMs, totalMs } };
      } catch (error) {
        if (request.signal?.aborted) return aborted(context.usage);
        const apiError = this.toError(error, attempt.timedOut);
        const delay = this.#onFailure(apiError, retry, true);
        if (delay === undefined) throw apiError;
        try {
          await sleep(delay, request.signal);
        } catch {
          return aborted(emptyUsage());
        }
      } finally {
        attempt.dispose();
      }
    }
  }
}

/** Parses streamed or returned tool arguments; invalid JSON is passed on as the raw string. */
export function parseToolInput(text: string): unknown {
  if (text.trim() === '') return {};
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}
