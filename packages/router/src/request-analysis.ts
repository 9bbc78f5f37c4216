import { type ChatMessage, type ChatRequest, contentText } from '@shammah/provider';

/** Counts the prompt tokens of a request, e.g. with the local model's own tokenizer and chat template. */
export type TokenCounter = (request: ChatRequest) => number | Promise<number>;

/** Characters per token assumed when no {@link TokenCounter} is supplied. */
export const charactersPerToken = 4;

// Role markers and separators that chat templates add around each message.
const messageOverheadTokens = 4;
// Images are not text; count them as a typical vision encoder's tile so they are not free.
const imageTokens = 765;

function chars(text: string): number {
  return Math.ceil(text.length / charactersPerToken);
}

function messageTokens(message: ChatMessage): number {
  let tokens = messageOverheadTokens;
  if (typeof message.content === 'string') return tokens + chars(message.content);
  for (const part of message.content) {
    switch (part.type) {
      case 'text':
        tokens += chars(part.text);
        break;
      case 'image':
        tokens += imageTokens;
        break;
      case 'tool-call':
        tokens += chars(part.name) + chars(JSON.stringify(part.input ?? {}));
        break;
      case 'tool-result':
        tokens +=
          typeof part.content === 'string'
            ? chars(part.content)
            : part.content.reduce(
                (sum, inner) => sum + (inner.type === 'text' ? chars(inner.text) : imageTokens),
                0,
              );
        break;
    }
  }
  return tokens;
}

/**
 * Estimates a request's prompt tokens at ~4 characters a token, with a few tokens per message for the
 * chat template and the tool definitions as JSON. Good enough to tell whether a prompt fits a
 * context window with a margin; supply a real {@link TokenCounter} where precision matters.
 *
 * @example
 * ```ts
 * estimateTokens({ messages: [{ role: 'user', content: 'What is the capital of France?' }] }); // 12
 * ```
 */
export function estimateTokens(request: ChatRequest): number {
  let tokens = 0;
  for (const message of request.messages) tokens += messageTokens(message);
  if (request.tools && request.tools.length > 0) tokens += chars(JSON.stringify(request.tools));
  return tokens;
}

/** What a request needs of a model beyond plain text. */
export interface RequestNeeds {
  /** The request offers tools (and does not forbid calling them). */
  tools: boolean;
  /** A message carries an image. */
  vision: boolean;
}

/** Whether a request needs tool calling or image input. */
export function requestNeeds(request: ChatRequest): RequestNeeds {
  const tools = (request.tools?.length ?? 0) > 0 && request.toolChoice !== 'none';
  let vision = false;
  for (const message of request.messages) {
    if (typeof message.content === 'string') continue;
    for (const part of message.content) {
      if (part.type === 'image') vision = true;
      if (part.type === 'tool-result' && typeof part.content !== 'string') {
        if (part.content.some((inner) => inner.type === 'image')) vision = true;
      }
    }
  }
  return { tools, vision };
}

/** The text of the user's messages, most recent first, at most `limit` of them. */
export function recentUserTexts(messages: readonly ChatMessage[], limit: number): string[] {
  const texts: string[] = [];
  for (let index = messages.length - 1; index >= 0 && texts.length < limit; index -= 1) {
    const message = messages[index]!;
    if (message.role === 'user') texts.push(contentText(message.content));
  }
  return texts;
}
