import type { ChatMessage } from '@shammah/provider';

/** Counts the tokens of a text: a model's tokenizer, or {@link estimateTokens}. */
export type TokenCounter = (text: string) => number;

/** Tokens a message costs beyond its text (role markers of chat templates). */
const PER_MESSAGE_TOKENS = 4;
/** What an image costs, roughly, in the cloud models that take them. */
const IMAGE_TOKENS = 1000;

/** About 4 characters a token: the estimate when no tokenizer is at hand. */
export function estimateTokens(text: string): number {
  return Math.ceil(text.length / 4);
}

/** A message as the text a counter measures: its text, tool calls as JSON, tool results. */
export function messageText(message: ChatMessage): { text: string; images: number } {
  if (typeof message.content === 'string') return { text: message.content, images: 0 };
  let images = 0;
  const parts: string[] = [];
  for (const part of message.content) {
    if (part.type === 'text') parts.push(part.text);
    else if (part.type === 'image') images++;
    else if (part.type === 'tool-call')
      parts.push(JSON.stringify({ name: part.name, arguments: part.input ?? {} }));
    else if (part.type === 'tool-result') {
      if (typeof part.content === 'string') parts.push(part.content);
      else
        for (const item of part.content) {
          if (item.type === 'text') parts.push(item.text);
          else images++;
        }
    }
  }
  return { text: parts.join('\n'), images };
}

/**
 * The tokens a conversation takes, counted with `count` (default: ~4 characters a token) plus a
 * few per message for the chat template.
 *
 * @example
 * ```ts
 * countMessageTokens(messages, (text) => generator.tokenizer.encode(text).length);
 * ```
 */
export function countMessageTokens(
  messages: readonly ChatMessage[],
  count: TokenCounter = estimateTokens,
): number {
  let total = 0;
  for (const message of messages) {
    const { text, images } = messageText(message);
    total += count(text) + PER_MESSAGE_TOKENS + images * IMAGE_TOKENS;
  }
  return total;
}
