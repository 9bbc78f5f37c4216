import type { z } from 'zod';
import {
  InvalidJsonError,
  InvalidRequestError,
  PayloadTooLargeError,
  UnsupportedMediaTypeError,
} from './errors.js';

/** Default largest request body: 4 MiB. */
export const DEFAULT_MAX_BODY_BYTES = 4 * 1024 * 1024;

/**
 * Reads a request's JSON body: requires a JSON content type, stops reading past `limitBytes`
 * (413), and reports unparsable JSON (400) with the parser's reason.
 */
export async function readJsonBody(request: Request, limitBytes: number): Promise<unknown> {
  const contentType = request.headers.get('content-type') ?? undefined;
  const mediaType = contentType?.split(';')[0]?.trim().toLowerCase();
  if (mediaType !== 'application/json' && !mediaType?.endsWith('+json')) {
    throw new UnsupportedMediaTypeError(contentType);
  }
  const declared = Number(request.headers.get('content-length') ?? Number.NaN);
  if (Number.isFinite(declared) && declared > limitBytes) throw new PayloadTooLargeError(limitBytes);
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (request.body) {
    const reader = request.body.getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      size += value.byteLength;
      if (size > limitBytes) {
        await reader.cancel().catch(() => undefined);
        throw new PayloadTooLargeError(limitBytes);
      }
      chunks.push(value);
    }
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(Buffer.concat(chunks));
  if (text.trim() === '') throw new InvalidJsonError('the body is empty');
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidJsonError((error as Error).message, { cause: error });
  }
}

/** How a validation error's field path is written. */
export type ParamStyle = 'openai' | 'anthropic';

/** `['messages', 0, 'content']` → `messages.[0].content` (OpenAI) or `messages.0.content` (Anthropic). */
export function formatPath(path: ReadonlyArray<PropertyKey>, style: ParamStyle): string {
  return path
    .map((key) => (typeof key === 'number' ? (style === 'openai' ? `[${key}]` : String(key)) : String(key)))
    .join('.');
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'string') return value.length > 40 ? 'a string' : `"${value}"`;
  if (typeof value === 'object') return 'an object';
  return `${typeof value} ${String(value)}`;
}

function valueAt(body: unknown, path: ReadonlyArray<PropertyKey>): unknown {
  let current = body;
  for (const key of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[key];
  }
  return current;
}

/**
 * Validates a parsed body with a zod schema, throwing an {@link InvalidRequestError} that names the
 * field, what it must be, and what was sent.
 */
export function validateBody<Schema extends z.ZodType>(
  schema: Schema,
  body: unknown,
  style: ParamStyle,
): z.output<Schema> {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidRequestError(
      `The request body must be a JSON object, but it is ${describeValue(body)}.`,
    );
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issues = result.error.issues.slice(0, 3).map((issue) => {
    const path = formatPath(issue.path, style);
    const value = valueAt(body, issue.path);
    const sent =
      value === undefined
        ? /required/i.test(issue.message)
          ? ''
          : ' (missing)'
        : issue.code === 'unrecognized_keys'
          ? ''
          : ` (got ${describeValue(value)})`;
    return { path, text: `${path ? `${path}: ` : ''}${issue.message}${sent}` };
  });
  const more = result.error.issues.length > 3 ? ` (and ${result.error.issues.length - 3} more problems)` : '';
  throw new InvalidRequestError(`${issues.map((issue) => issue.text).join('; ')}${more}.`, {
    ...(issues[0]?.path ? { param: issues[0].path } : {}),
  });
}
