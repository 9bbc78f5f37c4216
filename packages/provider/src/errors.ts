/** Options shared by every Shammah error. */
export interface ShammahErrorOptions {
  cause?: unknown;
}

/**
 * Base of every error Shammah throws: a stable `code` callers can branch on, and a message that
 * quotes the bad input and says what to do.
 */
export class ShammahError extends Error {
  override readonly name: string = 'ShammahError';
  readonly code: string;

  constructor(code: string, message: string, options: ShammahErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
  }

  /** True for any Shammah error, across copies of this package. */
  static is(value: unknown): value is ShammahError {
    return value instanceof Error && typeof (value as { code?: unknown }).code === 'string';
  }
}

/** Why a cloud API call failed, so the router can act on it. */
export type ApiErrorKind =
  | 'auth'
  | 'rate-limit'
  | 'context-too-long'
  | 'invalid-request'
  | 'not-found'
  | 'server'
  | 'network'
  | 'timeout'
  | 'aborted';

export interface ApiCallErrorOptions extends ShammahErrorOptions {
  kind: ApiErrorKind;
  provider: string;
  statusCode?: number;
  responseBody?: string;
  /** Milliseconds the server asked us to wait (from `retry-after`). */
  retryAfterMs?: number;
}

/** A cloud API call failed. Carries the status, body and whether a retry may help. */
export class ApiCallError extends ShammahError {
  override readonly name = 'ApiCallError';
  readonly kind: ApiErrorKind;
  readonly provider: string;
  readonly statusCode: number | undefined;
  readonly responseBody: string | undefined;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: ApiCallErrorOptions) {
    super(`api_${options.kind.replaceAll('-', '_')}`, message, options);
    this.kind = options.kind;
    this.provider = options.provider;
    this.statusCode = options.statusCode;
    this.responseBody = options.responseBody;
    this.retryAfterMs = options.retryAfterMs;
  }

  /** Rate limits, server errors, network failures and time-outs may succeed when tried again. */
  get isRetryable(): boolean {
    return ['rate-limit', 'server', 'network', 'timeout'].includes(this.kind);
  }
}

/** A prompt does not fit the model's context window. */
export class ContextLengthError extends ShammahError {
  override readonly name = 'ContextLengthError';
  readonly limit: number;
  readonly count: number;

  constructor(count: number, limit: number, options: ShammahErrorOptions = {}) {
    super(
      'context_too_long',
      `The prompt is ${count} tokens but the model's context holds ${limit}. ` +
        'Shorten the conversation (start a new one or let it be compacted) or use a model with a longer context.',
      options,
    );
    this.limit = limit;
    this.count = count;
  }
}
