import { randomUUID } from 'node:crypto';
import { type ChatMessage, contentText } from '@shammah/provider';
import { InvalidExampleError } from './errors.js';

/** How much a piece of feedback matters, as the original Shammah's `/critical`, `/medium` and `/good`. */
export type FeedbackLevel = 'critical' | 'improvement' | 'good';

/** Training weight of each feedback level: a critical correction counts ten times a good answer. */
export const FEEDBACK_WEIGHTS: Readonly<Record<FeedbackLevel, number>> = Object.freeze({
  critical: 10,
  improvement: 3,
  good: 1,
});

/** Where an example came from: a user's correction (or approval) of an answer, or a teacher's answer. */
export type ExampleSource = 'user-correction' | 'teacher-answer';

/**
 * One thing the local model should learn: given the conversation so far, answer with `response`.
 * Stored one per line in the training queue (see {@link encodeExampleLine}).
 */
export interface WeightedExample {
  /** Unique and stable: the same example recorded twice is trained on once. */
  id: string;
  /** The conversation up to, not including, the wanted answer. Its last message is the user's. */
  messages: ChatMessage[];
  /** The answer the user wants. */
  response: string;
  /** 10 critical, 3 improvement, 1 good; any positive number is accepted. */
  weight: number;
  source: ExampleSource;
  /** ISO time the example was recorded. Absent on lines imported from the original Shammah. */
  createdAt?: string;
  /** The model whose answer this corrects, or the teacher that answered. */
  modelId?: string;
  /** The user's note about the answer. */
  feedback?: string;
  /** The answer the model gave and the user corrected, kept for reference (never trained on). */
  rejectedResponse?: string;
}

/** What {@link createExample} needs: a conversation (or a single query), the wanted answer and a weight. */
export interface NewExample {
  /** The conversation so far. Give this or `query`. */
  messages?: ChatMessage[];
  /** A single user message, the original Shammah's and `POST /v1/feedback`'s `query`. */
  query?: string;
  response: string;
  /** A number, or give `level`. Default: 1 (good). */
  weight?: number;
  level?: FeedbackLevel;
  /** Default `user-correction`. */
  source?: ExampleSource;
  feedback?: string;
  modelId?: string;
  rejectedResponse?: string;
  /** Default: a random UUID. */
  id?: string;
  /** Default: now. */
  createdAt?: Date | string;
}

/** The weight of a feedback level. */
export function weightFor(level: FeedbackLevel): number {
  return FEEDBACK_WEIGHTS[level];
}

/** The feedback level a weight stands for (10 and above critical, 3 and above improvement). */
export function feedbackLevel(weight: number): FeedbackLevel {
  if (weight >= FEEDBACK_WEIGHTS.critical) return 'critical';
  if (weight >= FEEDBACK_WEIGHTS.improvement) return 'improvement';
  return 'good';
}

const ROLES = new Set(['system', 'user', 'assistant', 'tool']);

/** Checks a conversation's shape; throws {@link InvalidExampleError} naming the bad message. */
export function checkMessages(messages: unknown, where = 'messages'): asserts messages is ChatMessage[] {
  if (!Array.isArray(messages) || messages.length === 0) {
    throw new InvalidExampleError(`${where} must be a non-empty array of chat messages.`);
  }
  messages.forEach((message: unknown, index) => {
    const role = (message as { role?: unknown } | null)?.role;
    const content = (message as { content?: unknown } | null)?.content;
    if (typeof role !== 'string' || !ROLES.has(role)) {
      throw new InvalidExampleError(
        `${where}[${index}].role is ${JSON.stringify(role)}; use one of system, user, assistant, tool.`,
      );
    }
    if (typeof content !== 'string' && !Array.isArray(content)) {
      throw new InvalidExampleError(`${where}[${index}].content must be a string or an array of parts.`);
    }
  });
  if (!messages.some((message: ChatMessage) => message.role === 'user')) {
    throw new InvalidExampleError(
      `${where} has no user message; an example answers something the user said.`,
    );
  }
}

function checkWeight(weight: unknown): number {
  if (typeof weight !== 'number' || !Number.isFinite(weight) || weight <= 0) {
    throw new InvalidExampleError(
      `weight must be a positive number (10 critical, 3 improvement, 1 good), got ${JSON.stringify(weight)}.`,
    );
  }
  return weight;
}

/**
 * Builds a validated {@link WeightedExample}, e.g. from a `/feedback` command or `POST /v1/feedback`.
 *
 * @example
 * ```ts
 * import { createExample } from '@shammah/lora';
 *
 * const example = createExample({
 *   query: 'Which port does the daemon use?',
 *   response: 'The daemon listens on 127.0.0.1:11435 by default.',
 *   level: 'critical',
 * });
 * ```
 */
export function createExample(input: NewExample): WeightedExample {
  const messages: ChatMessage[] =
    input.messages ?? (typeof input.query === 'string' ? [{ role: 'user', content: input.query }] : []);
  checkMessages(messages, input.messages ? 'messages' : 'query');
  if (typeof input.query === 'string' && !input.messages && input.query.trim() === '') {
    throw new InvalidExampleError('query is empty; give the question the response answers.');
  }
  if (typeof input.response !== 'string' || input.response.trim() === '') {
    throw new InvalidExampleError('response is empty; give the answer the model should learn.');
  }
  if (input.weight !== undefined && input.level !== undefined) {
    throw new InvalidExampleError('Give either weight or level, not both.');
  }
  const weight = checkWeight(input.weight ?? (input.level ? weightFor(input.level) : FEEDBACK_WEIGHTS.good));
  const createdAt =
    input.createdAt instanceof Date
      ? input.createdAt.toISOString()
      : (input.createdAt ?? new Date().toISOString());
  return {
    id: input.id ?? randomUUID(),
    messages,
    response: input.response,
    weight,
    source: input.source ?? 'user-correction',
    createdAt,
    ...(input.modelId !== undefined ? { modelId: input.modelId } : {}),
    ...(input.feedback !== undefined ? { feedback: input.feedback } : {}),
    ...(input.rejectedResponse !== undefined ? { rejectedResponse: input.rejectedResponse } : {}),
  };
}

/** The text of the last user message: the original Shammah's `query`. */
export function lastUserText(messages: readonly ChatMessage[]): string {
  for (let i = messages.length - 1; i >= 0; i--) {
    const message = messages[i]!;
    if (message.role === 'user') return contentText(message.content);
  }
  return '';
}
