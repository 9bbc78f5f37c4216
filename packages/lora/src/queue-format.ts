import { createHash } from 'node:crypto';
import { InvalidExampleError } from './errors.js';
import { checkMessages, type ExampleSource, lastUserText, type WeightedExample } from './weighted-example.js';

/** The version written in every line's `v` field. Lines with a higher `v` are skipped, not misread. */
export const QUEUE_FORMAT_VERSION = 1;

/**
 * One example as one queue line (JSON and a newline). `v` comes first, then the original Shammah's
 * fields (`query`, `response`, `weight`, `feedback`), so the original can read the line too, then
 * the full conversation and the rest.
 *
 * ```json
 * {"v":1,"id":"…","query":"Which port?","response":"11435.","weight":10,"feedback":"…","messages":[…],"source":"user-correction","createdAt":"…","modelId":"…"}
 * ```
 */
export function encodeExampleLine(example: WeightedExample): string {
  const record = {
    v: QUEUE_FORMAT_VERSION,
    id: example.id,
    query: lastUserText(example.messages),
    response: example.response,
    weight: example.weight,
    ...(example.feedback !== undefined ? { feedback: example.feedback } : {}),
    messages: example.messages,
    source: example.source,
    ...(example.createdAt !== undefined ? { createdAt: example.createdAt } : {}),
    ...(example.modelId !== undefined ? { modelId: example.modelId } : {}),
    ...(example.rejectedResponse !== undefined ? { rejectedResponse: example.rejectedResponse } : {}),
  };
  return `${JSON.stringify(record)}\n`;
}

const SOURCES = new Set<ExampleSource>(['user-correction', 'teacher-answer']);

function optionalString(record: Record<string, unknown>, key: string): string | undefined {
  const value = record[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw new InvalidExampleError(`"${key}" must be a string.`);
  return value;
}

/**
 * Reads one queue line: this package's format (`"v": 1`) or the original Shammah's
 * `{"query", "response", "weight", "feedback"}`. Original lines get an id derived from their
 * content, so reading the same file twice gives the same ids. Throws {@link InvalidExampleError}.
 */
export function decodeExampleLine(line: string): WeightedExample {
  let record: unknown;
  try {
    record = JSON.parse(line);
  } catch (error) {
    throw new InvalidExampleError(`not valid JSON (${(error as Error).message})`, { cause: error });
  }
  if (record === null || typeof record !== 'object' || Array.isArray(record)) {
    throw new InvalidExampleError('a queue line must be a JSON object');
  }
  const fields = record as Record<string, unknown>;
  if (fields.v !== undefined && fields.v !== QUEUE_FORMAT_VERSION) {
    throw new InvalidExampleError(
      `written in queue format ${JSON.stringify(fields.v)} by a newer Shammah; this one reads format ${QUEUE_FORMAT_VERSION}. Upgrade Shammah to use it.`,
    );
  }
  const response = fields.response;
  if (typeof response !== 'string' || response.trim() === '') {
    throw new InvalidExampleError('"response" must be a non-empty string');
  }
  const weight = fields.weight ?? 1;
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new InvalidExampleError(`"weight" must be a positive number, got ${JSON.stringify(weight)}`);
  }
  const feedback = optionalString(fields, 'feedback');
  if (fields.v === undefined) {
    const query = fields.query;
    if (typeof query !== 'string' || query.trim() === '') {
      throw new InvalidExampleError('an original-format line needs a non-empty "query"');
    }
    const digest = createHash('sha256').update(line.trim()).digest('hex').slice(0, 24);
    return {
      id: `original-${digest}`,
      messages: [{ role: 'user', content: query }],
      response,
      weight,
      source: 'user-correction',
      ...(feedback !== undefined ? { feedback } : {}),
    };
  }
  const id = fields.id;
  if (typeof id !== 'string' || id === '') throw new InvalidExampleError('"id" must be a non-empty string');
  checkMessages(fields.messages);
  const source = fields.source;
  if (typeof source !== 'string' || !SOURCES.has(source as ExampleSource)) {
    throw new InvalidExampleError(
      `"source" must be user-correction or teacher-answer, got ${JSON.stringify(source)}`,
    );
  }
  const createdAt = optionalString(fields, 'createdAt');
  const modelId = optionalString(fields, 'modelId');
  const rejectedResponse = optionalString(fields, 'rejectedResponse');
  return {
    id,
    messages: fields.messages,
    response,
    weight,
    source: source as ExampleSource,
    ...(createdAt !== undefined ? { createdAt } : {}),
    ...(modelId !== undefined ? { modelId } : {}),
    ...(feedback !== undefined ? { feedback } : {}),
    ...(rejectedResponse !== undefined ? { rejectedResponse } : {}),
  };
}
