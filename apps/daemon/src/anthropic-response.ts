import { randomBytes } from 'node:crypto';
import type { ChatResult, ChatStreamPart, FinishReason, Usage } from '@shammah/provider';
import type { ChatRun } from './chat-service.js';
import type { HttpError } from './http-errors.js';
import type { SseWriter } from './sse.js';

/** A new message id (`msg_…`). */
export function messageId(): string {
  return `msg_${randomBytes(12).toString('base64url')}`;
}

/** Anthropic's `stop_reason` for a Shammah finish reason. */
export function anthropicStopReason(
  reason: FinishReason,
): 'end_turn' | 'max_tokens' | 'tool_use' | 'refusal' {
  switch (reason) {
    case 'length':
      return 'max_tokens';
    case 'tool-calls':
      return 'tool_use';
    case 'content-filter':
      return 'refusal';
    default:
      return 'end_turn';
  }
}

/**
 * Anthropic's `stop_reason` and `stop_sequence` for how an answer finished: `stop_sequence` with the
 * matched string when one of the request's `stop_sequences` ended it (a stop string the daemon added
 * itself, such as the text tool-call format's, is no reason the client asked for: `end_turn`).
 */
export function anthropicStop(
  finish: { finishReason: FinishReason; stopSequence?: string },
  stopSequences: readonly string[] | undefined,
): {
  stop_reason: ReturnType<typeof anthropicStopReason> | 'stop_sequence';
  stop_sequence: string | null;
} {
  const matched = finish.stopSequence;
  if (finish.finishReason === 'stop' && matched !== undefined && stopSequences?.includes(matched)) {
    return { stop_reason: 'stop_sequence', stop_sequence: matched };
  }
  return { stop_reason: anthropicStopReason(finish.finishReason), stop_sequence: null };
}

/** Anthropic's `usage`: `input_tokens` counts only the prompt tokens not read from the cache. */
export function anthropicUsage(usage: Usage) {
  const cached = usage.cachedInputTokens ?? 0;
  return {
    input_tokens: Math.max(0, usage.inputTokens - cached),
    output_tokens: usage.outputTokens,
    cache_creation_input_tokens: 0,
    cache_read_input_tokens: cached,
  };
}

function inputOf(value: unknown): unknown {
  if (typeof value !== 'string') return value ?? {};
  try {
    return JSON.parse(value);
  } catch {
    return {};
  }
}

/** The `message` object for a whole answer; `stopSequences` are the request's `stop_sequences`. */
export function anthropicMessage(
  id: string,
  model: string,
  result: ChatResult,
  stopSequences?: readonly string[],
) {
  const content: unknown[] = [];
  if (result.text !== '') content.push({ type: 'text', text: result.text });
  for (const call of result.toolCalls) {
    content.push({ type: 'tool_use', id: call.id, name: call.name, input: inputOf(call.input) });
  }
  return {
    id,
    type: 'message',
    role: 'assistant',
    model,
    content,
    ...anthropicStop(result, stopSequences),
    usage: anthropicUsage(result.usage),
  };
}

/** Options of {@link streamAnthropicMessage}. */
export interface AnthropicStreamOptions {
  /** Prompt tokens to announce in `message_start` (the exact count follows in `message_delta`). */
  estimatedInputTokens: number;
  /** The request's `stop_sequences`, to tell which one ended the answer. */
  stopSequences?: readonly string[];
  toHttpError: (error: unknown) => HttpError;
  cancelledError: () => HttpError;
}

/**
 * Streams an answer as Anthropic's events: `message_start`, `ping`, then per content block
 * `content_block_start`, `content_block_delta` (`text_delta` or `input_json_delta`) and
 * `content_block_stop`, then `message_delta` with the stop reason and usage, and `message_stop`.
 */
export async function streamAnthropicMessage(
  run: ChatRun,
  writer: SseWriter,
  meta: { id: string; model: string },
  options: AnthropicStreamOptions,
): Promise<void> {
  const send = (event: Record<string, unknown> & { type: string }) => writer.send(event, event.type);
  send({
    type: 'message_start',
    message: {
      id: meta.id,
      type: 'message',
      role: 'assistant',
      model: meta.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: {
        input_tokens: options.estimatedInputTokens,
        output_tokens: 0,
        cache_creation_input_tokens: 0,
        cache_read_input_tokens: 0,
      },
    },
  });
  send({ type: 'ping' });
  let index = -1;
  let open: { kind: 'text' } | { kind: 'tool'; id: string; sentInput: boolean } | undefined;
  let sentAnything = false;
  const close = () => {
    if (!open) return;
    send({ type: 'content_block_stop', index });
    open = undefined;
  };
  const text = (value: string) => {
    if (value === '') return;
    if (open?.kind !== 'text') {
      close();
      index++;
      open = { kind: 'text' };
      send({ type: 'content_block_start', index, content_block: { type: 'text', text: '' } });
    }
    send({ type: 'content_block_delta', index, delta: { type: 'text_delta', text: value } });
    sentAnything = true;
  };
  const startTool = (id: string, name: string) => {
    close();
    index++;
    open = { kind: 'tool', id, sentInput: false };
    send({ type: 'content_block_start', index, content_block: { type: 'tool_use', id, name, input: {} } });
    sentAnything = true;
  };
  const inputDelta = (json: string) => {
    if (open?.kind !== 'tool' || json === '') return;
    open.sentInput = true;
    send({ type: 'content_block_delta', index, delta: { type: 'input_json_delta', partial_json: json } });
  };

  let finish: Extract<ChatStreamPart, { type: 'finish' }> | undefined;
  try {
    for await (const part of run) {
      if (writer.closed) break;
      switch (part.type) {
        case 'route':
          if (part.restart && sentAnything) {
            text(`\n\n[The answer restarts with ${part.model}: ${part.message}]\n\n`);
          }
          break;
        case 'text-delta':
          text(part.text);
          break;
        case 'tool-call-start':
          startTool(part.id, part.name);
          break;
        case 'tool-call-delta':
          if (open?.kind === 'tool' && open.id === part.id) inputDelta(part.argumentsDelta);
          break;
        case 'tool-call':
          if (open?.kind !== 'tool' || open.id !== part.id) startTool(part.id, part.name);
          if (open?.kind === 'tool' && !open.sentInput) {
            inputDelta(typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {}));
          }
          close();
          break;
        case 'finish':
          finish = part;
          break;
        default:
          break;
      }
    }
  } catch (error) {
    if (!writer.closed) writer.send(errorEvent(options.toHttpError(error)), 'error');
    return;
  }
  if (writer.closed) return;
  if (!finish || (finish.finishReason === 'abort' && run.cancelled)) {
    writer.send(errorEvent(options.cancelledError()), 'error');
    return;
  }
  if (finish.finishReason === 'error') {
    writer.send(errorEvent(options.toHttpError(new Error('The model reported an error.'))), 'error');
    return;
  }
  close();
  send({
    type: 'message_delta',
    delta: anthropicStop(finish, options.stopSequences),
    usage: anthropicUsage(finish.usage),
  });
  send({ type: 'message_stop' });
}

function errorEvent(error: HttpError) {
  return { type: 'error', error: { type: error.anthropicType, message: error.message } };
}
