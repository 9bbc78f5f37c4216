import type { FeedbackLevel } from '@shammah/lora';
import type { ChatMessage } from '@shammah/provider';

/** How an answer was judged, as `/feedback` takes it (the original's /good, /medium, /critical). */
export type FeedbackRating = 'good' | 'improve' | 'critical';

/** The training queue's level for each rating (weights 1, 3 and 10). */
export const FEEDBACK_LEVELS: Readonly<Record<FeedbackRating, FeedbackLevel>> = {
  good: 'good',
  improve: 'improvement',
  critical: 'critical',
};

function textOf(message: ChatMessage): string {
  if (typeof message.content === 'string') return message.content;
  return message.content
    .flatMap((part) => ('text' in part && typeof part.text === 'string' ? [part.text] : []))
    .join('');
}

/**
 * The conversation up to and including the user message that asked `query` (the last one that
 * did), so a training example carries the context the answer was given in. Falls back to the
 * query alone.
 */
export function conversationUpTo(messages: readonly ChatMessage[], query: string): ChatMessage[] {
  for (let index = messages.length - 1; index >= 0; index--) {
    const message = messages[index]!;
    if (message.role === 'user' && textOf(message) === query) return messages.slice(0, index + 1);
  }
  return [{ role: 'user', content: query }];
}
