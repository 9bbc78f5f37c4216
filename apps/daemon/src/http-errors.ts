/**
 * The one place where errors become HTTP responses: an error's stable `code` picks the status, the
 * OpenAI and Anthropic error types and the wire code. Anything without a known code is a 500 that
 * names the request id and never shows a stack trace.
 */

/** Which wire protocol an error answers in. */
export type ErrorProtocol = 'openai' | 'anthropic';

/** An error, ready to send. */
export interface HttpError {
  status: number;
  /** The `error.code` OpenAI clients read (null when OpenAI would send none). */
  code: string | null;
  /** The error's internal code, for logs and metrics. */
  internalCode: string;
  message: string;
  param: string | null;
  openaiType: string;
  anthropicType: string;
  /** Seconds to send in `retry-after`. */
  retryAfterSeconds?: number;
  /** True for errors the daemon did not expect: logged with their stack. */
  unexpected: boolean;
}

interface Rule {
  status: number;
  /** The wire code; defaults to the internal code. */
  code?: string | null;
  /** Retry-after, in seconds, when the error does not carry its own. */
  retryAfterSeconds?: number;
}

/** Internal error code → how it is sent. */
const rules: Record<string, Rule> = {
  // The client's request.
  invalid_request: { status: 400, code: null },
  invalid_json: { status: 400, code: null },
  unsupported_content: { status: 400, code: 'unsupported_content' },
  context_too_long: { status: 400, code: 'context_length_exceeded' },
  router_invalid_request: { status: 400, code: null },
  unauthorized: { status: 401, code: 'invalid_api_key' },
  server_tools_disabled: { status: 403, code: 'server_tools_disabled' },
  not_found: { status: 404, code: null },
  session_not_found: { status: 404, code: 'session_not_found' },
  unknown_model: { status: 404, code: 'model_not_found' },
  no_teacher: { status: 404, code: 'model_not_found' },
  router_unknown_model: { status: 404, code: 'model_not_found' },
  payload_too_large: { status: 413, code: null },
  unsupported_media_type: { status: 415, code: null },
  queue_full: { status: 429, code: 'rate_limit_exceeded', retryAfterSeconds: 1 },
  // The local model.
  model_not_ready: { status: 503, code: 'model_not_ready', retryAfterSeconds: 5 },
  model_not_found: { status: 503, code: 'model_not_available' },
  model_corrupt: { status: 503, code: 'model_not_available' },
  model_unsupported: { status: 503, code: 'model_not_available' },
  out_of_memory: { status: 503, code: 'model_out_of_memory' },
  shutting_down: { status: 503, code: 'shutting_down', retryAfterSeconds: 5 },
  router_no_route: { status: 503, code: 'no_model_available', retryAfterSeconds: 5 },
  // Teachers (cloud models) behind the daemon.
  api_invalid_request: { status: 400, code: null },
  api_context_too_long: { status: 400, code: 'context_length_exceeded' },
  api_rate_limit: { status: 429, code: 'rate_limit_exceeded', retryAfterSeconds: 5 },
  api_auth: { status: 502, code: 'upstream_auth_failed' },
  api_not_found: { status: 502, code: 'upstream_model_not_found' },
  api_server: { status: 502, code: 'upstream_error' },
  api_network: { status: 502, code: 'upstream_unreachable' },
  api_timeout: { status: 504, code: 'upstream_timeout' },
  api_aborted: { status: 499, code: 'request_cancelled' },
  all_teachers_failed: { status: 502, code: 'upstream_error' },
  router_no_route_answered: { status: 502, code: 'upstream_error' },
  missing_api_key: { status: 503, code: 'teacher_not_configured' },
  invalid_teacher_config: { status: 503, code: 'teacher_not_configured' },
};

function openaiType(status: number): string {
  // As OpenAI sends them: a bad key is an invalid_request_error (code invalid_api_key), a rate limit
  // has the type `requests` (code rate_limit_exceeded).
  if (status === 429) return 'requests';
  if (status >= 500) return 'server_error';
  return 'invalid_request_error';
}

function anthropicType(status: number): string {
  switch (status) {
    case 401:
      return 'authentication_error';
    case 403:
      return 'permission_error';
    case 404:
      return 'not_found_error';
    case 413:
      return 'request_too_large';
    case 429:
      return 'rate_limit_error';
    case 503:
      return 'overloaded_error';
    default:
      return status >= 500 ? 'api_error' : 'invalid_request_error';
  }
}

function codeOf(error: unknown): string | undefined {
  if (!(error instanceof Error)) return undefined;
  const code = (error as { code?: unknown }).code;
  return typeof code === 'string' ? code : undefined;
}

function numberField(error: unknown, field: string): number | undefined {
  const value = (error as Record<string, unknown> | null)?.[field];
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/** Errors that wrap the failure of the model they tried last (the router's, a teacher chain's). */
const WRAPPERS = new Set(['router_no_route_answered', 'all_teachers_failed']);

/**
 * Maps any thrown value to the HTTP error to send. Unknown errors become a 500 whose message names
 * `requestId` so the log entry can be found; their own message and stack stay in the log.
 */
export function toHttpError(error: unknown, requestId: string): HttpError {
  // A router whose only model failed reports that model's failure: a full queue stays a 429.
  const cause = (error as { cause?: unknown } | null)?.cause;
  const wrapped = codeOf(error);
  if (wrapped && WRAPPERS.has(wrapped) && codeOf(cause) && rules[codeOf(cause)!]) {
    return toHttpError(cause, requestId);
  }
  const internalCode = codeOf(error);
  const rule = internalCode ? rules[internalCode] : undefined;
  if (!internalCode || !rule) {
    return {
      status: 500,
      code: null,
      internalCode: internalCode ?? 'internal_error',
      message: `The daemon failed on this request (request id ${requestId}); its log has the details.`,
      param: null,
      openaiType: 'server_error',
      anthropicType: 'api_error',
      unexpected: true,
    };
  }
  const ownRetry =
    numberField(error, 'retryAfterSeconds') ??
    (numberField(error, 'retryAfterMs') !== undefined
      ? Math.ceil(numberField(error, 'retryAfterMs')! / 1000)
      : undefined);
  const retryAfterSeconds = ownRetry ?? rule.retryAfterSeconds;
  const param = (error as { param?: unknown }).param;
  return {
    status: rule.status,
    code: rule.code === undefined ? internalCode : rule.code,
    internalCode,
    message: (error as Error).message,
    param: typeof param === 'string' ? param : null,
    openaiType: openaiType(rule.status),
    anthropicType: anthropicType(rule.status),
    ...(retryAfterSeconds !== undefined ? { retryAfterSeconds: Math.max(1, retryAfterSeconds) } : {}),
    unexpected: false,
  };
}

/** The body of an error in the given protocol's shape. */
export function errorBody(error: HttpError, protocol: ErrorProtocol, requestId: string): unknown {
  if (protocol === 'anthropic') {
    return {
      type: 'error',
      error: { type: error.anthropicType, message: error.message },
      request_id: requestId,
    };
  }
  return { error: { message: error.message, type: error.openaiType, param: error.param, code: error.code } };
}

/** Headers that go with an error response. */
export function errorHeaders(error: HttpError): Record<string, string> {
  return error.retryAfterSeconds !== undefined ? { 'retry-after': String(error.retryAfterSeconds) } : {};
}

/** The protocol a path's errors are written in: Anthropic's for `/v1/messages…`, OpenAI's elsewhere. */
export function protocolOfPath(path: string): ErrorProtocol {
  return path === '/v1/messages' || path.startsWith('/v1/messages/') ? 'anthropic' : 'openai';
}
