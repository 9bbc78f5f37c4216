import type { ChatResult, ChatStreamPart, RouteStreamPart, TokenLogprob, ToolCall } from './chat-model.js';

/**
 * Folds a stream of parts into one {@link ChatResult}. Implementations of `ChatModel.generate`
 * use it so that streamed and whole answers can never disagree. A `route` part with `restart`
 * discards what came before it (see {@link RouteStreamPart}).
 *
 * @example
 * ```ts
 * generate(request) { return collectStream(this.stream(request)); }
 * ```
 */
export async function collectStream(stream: AsyncIterable<ChatStreamPart>): Promise<ChatResult> {
  let text = '';
  const toolCalls: ToolCall[] = [];
  const logprobs: TokenLogprob[] = [];
  let result: ChatResult | undefined;
  for await (const part of stream) {
    switch (part.type) {
      case 'route':
        // A router switched models after the answer began: the new model's answer replaces it.
        if (part.restart) {
          text = '';
          toolCalls.length = 0;
          logprobs.length = 0;
        }
        break;
      case 'text-delta':
        text += part.text;
        break;
      case 'tool-call':
        toolCalls.push({ id: part.id, name: part.name, input: part.input });
        break;
      case 'logprobs':
        logprobs.push(...part.logprobs);
        break;
      case 'finish':
        result = {
          text,
          toolCalls,
          finishReason: part.finishReason,
          ...(part.stopSequence !== undefined ? { stopSequence: part.stopSequence } : {}),
          usage: part.usage,
          ...(part.timings ? { timings: part.timings } : {}),
          ...(part.modelId ? { modelId: part.modelId } : {}),
        };
        break;
      default:
        break;
    }
  }
  if (!result) {
    throw new Error('The model stream ended without a finish part; the answer is incomplete.');
  }
  if (logprobs.length > 0) result.logprobs = logprobs;
  return result;
}

/** The text of a message's content, joining text parts. */
export function contentText(content: string | ReadonlyArray<{ type: string; text?: string }>): string {
  if (typeof content === 'string') return content;
  return content
    .filter((part) => part.type === 'text')
    .map((part) => part.text ?? '')
    .join('');
}
