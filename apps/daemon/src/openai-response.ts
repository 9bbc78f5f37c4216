import { randomBytes } from 'node:crypto';
import type { ChatResult, ChatStreamPart, FinishReason, TokenLogprob, Usage } from '@shammah/provider';
import type { ChatRun } from './chat-service.js';
import type { HttpError } from './http-errors.js';
import type { SseWriter } from './sse.js';

/** What every chunk or response of one completion shares. */
export interface CompletionMeta {
  id: string;
  /** Unix seconds. */
  created: number;
  model: string;
}

/** A new completion id (`chatcmpl-…`). */
export function completionId(): string {
  return `chatcmpl-${randomBytes(12).toString('base64url')}`;
}

/** OpenAI's `finish_reason` for a Shammah finish reason. */
export function openaiFinishReason(
  reason: FinishReason,
): 'stop' | 'length' | 'tool_calls' | 'content_filter' {
  switch (reason) {
    case 'length':
      return 'length';
    case 'tool-calls':
      return 'tool_calls';
    case 'content-filter':
      return 'content_filter';
    default:
      return 'stop';
  }
}

/** OpenAI's `usage` object. */
export function openaiUsage(usage: Usage) {
  return {
    prompt_tokens: usage.inputTokens,
    completion_tokens: usage.outputTokens,
    total_tokens: usage.inputTokens + usage.outputTokens,
    prompt_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0 },
    completion_tokens_details: { reasoning_tokens: 0 },
  };
}

function openaiLogprobs(logprobs: readonly TokenLogprob[]) {
  return {
    content: logprobs.map((item) => ({
      token: item.token,
      logprob: item.logprob,
      bytes: [...Buffer.from(item.token, 'utf8')],
      top_logprobs: [],
    })),
    refusal: null,
  };
}

/** The `chat.completion` object for a whole answer. */
export function chatCompletion(meta: CompletionMeta, result: ChatResult, wantLogprobs: boolean) {
  const toolCalls = result.toolCalls.map((call) => ({
    id: call.id,
    type: 'function' as const,
    function: {
      name: call.name,
      arguments: typeof call.input === 'string' ? call.input : JSON.stringify(call.input ?? {}),
    },
  }));
  return {
    id: meta.id,
    object: 'chat.completion',
    created: meta.created,
    model: meta.model,
    system_fingerprint: null,
    choices: [
      {
        index: 0,
        message: {
          role: 'assistant',
          content: result.text === '' && toolCalls.length > 0 ? null : result.text,
          refusal: null,
          ...(toolCalls.length > 0 ? { tool_calls: toolCalls } : {}),
        },
        logprobs: wantLogprobs ? openaiLogprobs(result.logprobs ?? []) : null,
        finish_reason: openaiFinishReason(result.finishReason),
      },
    ],
    usage: openaiUsage(result.usage),
  };
}

/** Options of {@link streamChatCompletion}. */
export interface StreamOptions {
  includeUsage: boolean;
  logprobs: boolean;
  /** Turns a failure during the stream into the error to send. */
  toHttpError: (error: unknown) => HttpError;
  /** The error to send when the daemon cancelled the answer (shutdown). */
  cancelledError: () => HttpError;
}

/**
 * Streams an answer as `chat.completion.chunk` events: the role first, then content deltas and tool-call
 * deltas (`index`, `id`, `function.name`, then `function.arguments` pieces), a last chunk with the
 * finish reason, the usage chunk when asked for (`stream_options.include_usage`), and `data: [DONE]`.
 */
export async function streamChatCompletion(
  run: ChatRun,
  writer: SseWriter,
  meta: CompletionMeta,
  options: StreamOptions,
): Promise<void> {
  const usageField = options.includeUsage ? { usage: null } : {};
  const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
    id: meta.id,
    object: 'chat.completion.chunk',
    created: meta.created,
    model: meta.model,
    system_fingerprint: null,
    choices: [{ index: 0, delta, logprobs: null, finish_reason: null, ...extra }],
    ...usageField,
  });
  const toolIndex = new Map<string, number>();
  const argumentsSent = new Set<string>();
  let pendingText: string | undefined;
  let sentAnything = false;
  const flushText = (logprobs?: TokenLogprob[]) => {
    if (pendingText === undefined && !logprobs) return;
    writer.send(
      chunk(
        { content: pendingText ?? '' },
        logprobs && options.logprobs ? { logprobs: openaiLogprobs(logprobs) } : {},
      ),
    );
    pendingText = undefined;
    sentAnything = true;
  };
  const startTool = (id: string, name: string, args: string) => {
    const index = toolIndex.size;
    toolIndex.set(id, index);
    if (args !== '') argumentsSent.add(id);
    writer.send(
      chunk({ tool_calls: [{ index, id, type: 'function', function: { name, arguments: args } }] }),
    );
    sentAnything = true;
  };

  writer.send(chunk({ role: 'assistant', content: '', refusal: null }));
  let finish: Extract<ChatStreamPart, { type: 'finish' }> | undefined;
  try {
    for await (const part of run) {
      if (writer.closed) break;
      if (part.type !== 'logprobs') flushText();
      switch (part.type) {
        case 'route':
          if (part.restart && sentAnything) {
            // SSE cannot take back what was sent: say plainly that a new answer follows.
            writer.send(
              chunk({ content: `\n\n[The answer restarts with ${part.model}: ${part.message}]\n\n` }),
            );
          }
          break;
        case 'text-delta':
          pendingText = part.text;
          break;
        case 'logprobs':
          flushText(part.logprobs);
          break;
        case 'tool-call-start':
          if (!toolIndex.has(part.id)) startTool(part.id, part.name, '');
          break;
        case 'tool-call-delta': {
          const index = toolIndex.get(part.id);
          if (index === undefined || part.argumentsDelta === '') break;
          argumentsSent.add(part.id);
          writer.send(chunk({ tool_calls: [{ index, function: { arguments: part.argumentsDelta } }] }));
          break;
        }
        case 'tool-call': {
          const args = typeof part.input === 'string' ? part.input : JSON.stringify(part.input ?? {});
          const index = toolIndex.get(part.id);
          if (index === undefined) startTool(part.id, part.name, args);
          else if (!argumentsSent.has(part.id)) {
            argumentsSent.add(part.id);
            writer.send(chunk({ tool_calls: [{ index, function: { arguments: args } }] }));
          }
          break;
        }
        case 'finish':
          finish = part;
          break;
        default:
          break;
      }
    }
    flushText();
  } catch (error) {
    if (!writer.closed) writer.send(errorEvent(options.toHttpError(error)));
    return;
  }
  if (writer.closed) return;
  if (!finish || (finish.finishReason === 'abort' && run.cancelled)) {
    writer.send(errorEvent(options.cancelledError()));
    return;
  }
  if (finish.finishReason === 'error') {
    writer.send(errorEvent(options.toHttpError(new Error('The model reported an error.'))));
    return;
  }
  writer.send(chunk({}, { finish_reason: openaiFinishReason(finish.finishReason) }));
  if (options.includeUsage) {
    writer.send({
      id: meta.id,
      object: 'chat.completion.chunk',
      created: meta.created,
      model: meta.model,
      system_fingerprint: null,
      choices: [],
      usage: openaiUsage(finish.usage),
    });
  }
  writer.sendRaw('[DONE]');
}

function errorEvent(error: HttpError) {
  return { error: { message: error.message, type: error.openaiType, param: error.param, code: error.code } };
}
