import { ApiCallError, type ApiErrorKind } from '@shammah/provider';
import { type HeaderSource, parseRetryAfter } from './retry.js';

/** What an adapter knows about a failed call, before it is classified. */
export interface FailedCall {
  /** Teacher provider id (`anthropic`, `openai`, …). */
  provider: string;
  /** Display name used in messages, e.g. `Anthropic`. */
  providerLabel: string;
  modelId: string;
  statusCode?: number;
  headers?: HeaderSource;
  /** The response body as text, or already parsed. */
  body?: unknown;
  /** A provider error type or code (`overloaded_error`, `context_length_exceeded`, `RESOURCE_EXHAUSTED`). */
  providerCode?: string;
  /** The provider's own message, if the adapter already has it. */
  providerMessage?: string;
  /** Set when no HTTP response was received. */
  network?: boolean;
  timeout?: boolean;
  aborted?: boolean;
  cause?: unknown;
  /** Where the key may be found, for auth messages: `ANTHROPIC_API_KEY`. */
  keyHint?: string;
  /** Secrets (the API key, configured header values) to cut out of anything the error carries. */
  secrets?: readonly string[];
}

const contextPatterns = [
  /context[ _-]?(length|window)/i,
  /maximum context/i,
  /prompt is too long/i,
  /input is too long/i,
  /too many (input )?tokens/i,
  /input token count.*exceeds/i,
  /exceeds the (maximum|context)/i,
  /reduce the length of the messages/i,
  /maximum (number of )?tokens allowed/i,
  /request too large/i,
  /maximum prompt length/i,
  /too large for model/i,
];

/** Some providers answer a bad key with a 400 (Gemini's `API_KEY_INVALID`, xAI's "Incorrect API key"). */
const authPatterns = [/incorrect api key/i, /invalid api key/i, /api key not valid/i, /invalid x-api-key/i];

const authCodes = new Set([
  'authentication_error',
  'permission_error',
  'invalid_api_key',
  'unauthenticated',
  'permission_denied',
  'api_key_invalid',
  'insufficient_quota',
  'billing_error',
]);

/** Replaces every secret inside `text` with `[redacted]`. */
export function redact(text: string, secrets: readonly string[] = []): string {
  let result = text;
  for (const secret of secrets) {
    if (secret.length >= 4) result = result.split(secret).join('[redacted]');
  }
  return result;
}

function bodyText(body: unknown): string | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  try {
    return JSON.stringify(body);
  } catch {
    return String(body);
  }
}

function parsedBody(body: unknown): unknown {
  if (typeof body !== 'string') return body;
  try {
    return JSON.parse(body);
  } catch {
    return body;
  }
}

/**
 * The message and code inside a provider's error body. Handles OpenAI's `{error:{message,code,type}}`,
 * Anthropic's `{type:'error',error:{type,message}}`, Gemini's `{error:{code,message,status,details}}`,
 * Mistral's `{message, type, code}` / `{detail}` and xAI's `{code, error}`.
 */
export function readErrorBody(body: unknown): { message?: string; code?: string } {
  const value = parsedBody(body);
  if (typeof value === 'string') return value.trim() ? { message: value.trim().slice(0, 500) } : {};
  if (!value || typeof value !== 'object') return {};
  const record = value as Record<string, unknown>;
  const nested = record.error;
  const codes: string[] = [];
  let message: string | undefined;
  if (nested && typeof nested === 'object') {
    const error = nested as Record<string, unknown>;
    if (typeof error.message === 'string') message = error.message;
    for (const key of ['code', 'type', 'status']) {
      if (typeof error[key] === 'string') codes.push(error[key] as string);
    }
    if (Array.isArray(error.details)) {
      for (const detail of error.details) {
        const reason = (detail as { reason?: unknown })?.reason;
        if (typeof reason === 'string') codes.unshift(reason);
      }
    }
  } else if (typeof nested === 'string') {
    message = nested;
  }
  if (message === undefined && typeof record.message === 'string') message = record.message;
  if (message === undefined && typeof record.detail === 'string') message = record.detail;
  if (message === undefined && Array.isArray(record.detail)) message = JSON.stringify(record.detail);
  for (const key of ['code', 'type']) {
    if (typeof record[key] === 'string' && record[key] !== 'error') codes.push(record[key] as string);
  }
  return { ...(message !== undefined ? { message } : {}), ...(codes[0] ? { code: codes[0] } : {}) };
}

function kindOf(call: FailedCall, message: string, code: string | undefined): ApiErrorKind {
  if (call.aborted) return 'aborted';
  if (call.timeout) return 'timeout';
  const normalizedCode = code?.toLowerCase();
  const isContext =
    normalizedCode === 'context_length_exceeded' || contextPatterns.some((pattern) => pattern.test(message));
  const status = call.statusCode;
  if (status === undefined) {
    if (normalizedCode === 'overloaded_error' || normalizedCode === 'api_error') return 'server';
    if (normalizedCode === 'rate_limit_error') return 'rate-limit';
    if (normalizedCode && authCodes.has(normalizedCode)) return 'auth';
    if (normalizedCode === 'invalid_request_error') return isContext ? 'context-too-long' : 'invalid-request';
    return 'network';
  }
  if (status === 401 || status === 403) return 'auth';
  if (normalizedCode && authCodes.has(normalizedCode)) return 'auth';
  if (status === 400 && authPatterns.some((pattern) => pattern.test(message))) return 'auth';
  if (status === 413) return 'context-too-long';
  if (status === 429) return 'rate-limit';
  if (status === 408) return 'timeout';
  if (status === 404) return 'not-found';
  if (status >= 500) return 'server';
  if (isContext) return 'context-too-long';
  return 'invalid-request';
}

const advice: Record<ApiErrorKind, (call: FailedCall) => string> = {
  auth: (call) =>
    `Check the API key${call.keyHint ? ` (${call.keyHint})` : ''} and that the account may use model "${call.modelId}".`,
  'rate-limit': () =>
    'The provider is rate-limiting this key; wait and try again, or add a fallback teacher.',
  'context-too-long': () => 'Shorten the conversation or pick a model with a longer context window.',
  'invalid-request': () => 'The request was rejected as invalid; this is likely a bug, please report it.',
  'not-found': (call) => `Check the model name "${call.modelId}" and the base URL.`,
  server: () => 'The provider had a server error; try again later or use a fallback teacher.',
  network: () => 'Check the network connection and the base URL.',
  timeout: () => 'The provider did not answer in time; raise the timeout or try again.',
  aborted: () => 'The request was cancelled.',
};

/** Gemini says how long to wait in the body: `details: [{ '@type': '…RetryInfo', retryDelay: '38s' }]`. */
export function retryInfoDelay(body: unknown): number | undefined {
  const value = parsedBody(body) as { error?: { details?: unknown } } | undefined;
  const details = value && typeof value === 'object' ? value.error?.details : undefined;
  if (!Array.isArray(details)) return undefined;
  for (const detail of details) {
    const { '@type': type, retryDelay } = (detail ?? {}) as { '@type'?: unknown; retryDelay?: unknown };
    if (typeof type === 'string' && type.endsWith('RetryInfo') && typeof retryDelay === 'string') {
      const match = /^(\d+(?:\.\d+)?)s$/.exec(retryDelay.trim());
      if (match) return Number(match[1]) * 1000;
    }
  }
  return undefined;
}

/** Turns what an adapter knows about a failure into a classified, key-free {@link ApiCallError}. */
export function toApiCallError(call: FailedCall): ApiCallError {
  const secrets = call.secrets ?? [];
  const { message: bodyMessage, code: bodyCode } = readErrorBody(call.body);
  const code = call.providerCode ?? bodyCode;
  const providerMessage = redact(call.providerMessage ?? bodyMessage ?? '', secrets);
  const kind = kindOf(call, providerMessage, code);
  const status = call.statusCode === undefined ? '' : ` (HTTP ${call.statusCode})`;
  const what = {
    auth: 'rejected the credentials',
    'rate-limit': 'is rate-limiting requests',
    'context-too-long': 'says the prompt is too long',
    'invalid-request': 'rejected the request',
    'not-found': 'did not find the model or endpoint',
    server: 'failed with a server error',
    network: 'could not be reached',
    timeout: 'timed out',
    aborted: 'request was aborted',
  }[kind];
  const quoted = providerMessage ? `: "${providerMessage}"` : '';
  const responseBody = bodyText(call.body);
  const retryAfterMs = parseRetryAfter(call.headers) ?? retryInfoDelay(call.body);
  return new ApiCallError(
    `${call.providerLabel} (${call.modelId}) ${what}${status}${quoted}. ${advice[kind](call)}`,
    {
      kind,
      provider: call.provider,
      ...(call.statusCode !== undefined ? { statusCode: call.statusCode } : {}),
      ...(responseBody !== undefined ? { responseBody: redact(responseBody, secrets) } : {}),
      ...(retryAfterMs !== undefined ? { retryAfterMs } : {}),
      ...(call.cause !== undefined ? { cause: call.cause } : {}),
    },
  );
}
