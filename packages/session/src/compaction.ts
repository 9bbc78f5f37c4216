import {
  type ChatMessage,
  type ChatModel,
  contentText,
  type Logger,
  silentLogger,
  type ToolResultPart,
} from '@shammah/provider';
import {
  buildToolSystemPrompt,
  type ConversationCompaction,
  type ConversationCompactor,
  truncateText,
} from '@shammah/tools';
import { countMessageTokens, estimateTokens, type TokenCounter } from './token-count.js';

/** The first line of the message that stands for compacted turns. */
export const COMPACTION_SUMMARY_HEADER =
  'Summary of the earlier conversation (older messages were compacted to fit the context window):';

/** Options of {@link compactConversation}. */
export interface CompactConversationOptions {
  messages: readonly ChatMessage[];
  /** Writes the summary: the local model or a teacher. */
  summarizer: ChatModel;
  /** Tokens the conversation may take. */
  maxTokens: number;
  /** Counts tokens: the model's tokenizer, or ~4 characters a token by default. */
  countTokens?: TokenCounter;
  /** Tokens of the latest turns kept word for word (default 40% of `maxTokens`). */
  keepRecentTokens?: number;
  /** Longest summary, in tokens (default 15% of `maxTokens`, 64 to 1024). */
  summaryMaxTokens?: number;
  /** Compact even if the conversation seems to fit (the model said it does not), to 70% of `maxTokens`. */
  force?: boolean;
  signal?: AbortSignal;
  logger?: Logger;
}

/** The conversation after {@link compactConversation}, and what was done (absent when it already fitted). */
export interface CompactConversationResult {
  messages: ChatMessage[];
  compaction?: ConversationCompaction;
}

const SUMMARY_INSTRUCTIONS = [
  'You compress a conversation between a user and a coding assistant, so that the assistant can continue it',
  'without the full history. Write a concise summary covering: what the user asked for and their preferences,',
  'decisions made, files read or changed and what was found in them, commands run and their results, and what',
  'is still to be done. Keep exact file paths, names, numbers and error messages. Do not invent anything.',
  'Answer with the summary only.',
].join(' ');

/** Whether a message is the summary a compaction put in place of older turns. */
export function isCompactionSummary(message: ChatMessage): boolean {
  return (
    message.role === 'user' &&
    typeof message.content === 'string' &&
    message.content.startsWith(COMPACTION_SUMMARY_HEADER)
  );
}

/**
 * Splits the conversation into pieces that are kept or summarised whole: an assistant message that
 * calls tools travels with the results that answer it, so a call and its result are never split.
 */
function groupTurns(body: readonly ChatMessage[]): ChatMessage[][] {
  const units: ChatMessage[][] = [];
  for (const message of body) {
    const previous = units.at(-1);
    if (message.role === 'tool' && previous) previous.push(message);
    else units.push([message]);
  }
  return units;
}

function clip(text: string, maxChars: number): string {
  return truncateText(text, { maxChars, mode: 'head-and-tail' }).text;
}

function resultText(part: ToolResultPart): string {
  return typeof part.content === 'string' ? part.content : contentText(part.content);
}

/** The older turns as lines of a transcript for the summariser. */
function transcript(messages: readonly ChatMessage[]): string[] {
  const lines: string[] = [];
  for (const message of messages) {
    if (message.role === 'system') lines.push(`System note: ${clip(message.content, 2000)}`);
    else if (message.role === 'user') {
      const text = contentText(message.content);
      lines.push(
        isCompactionSummary(message)
          ? `Summary of what came before: ${text.slice(COMPACTION_SUMMARY_HEADER.length).trim()}`
          : `User: ${clip(text, 4000)}`,
      );
    } else if (message.role === 'assistant') {
      if (typeof message.content === 'string') {
        if (message.content.trim()) lines.push(`Assistant: ${clip(message.content, 4000)}`);
        continue;
      }
      for (const part of message.content) {
        if (part.type === 'text' && part.text.trim()) lines.push(`Assistant: ${clip(part.text, 4000)}`);
        if (part.type === 'tool-call') {
          lines.push(`Assistant called ${part.name} ${clip(JSON.stringify(part.input ?? {}), 600)}`);
        }
      }
    } else {
      for (const part of message.content) {
        lines.push(
          `Result of ${part.toolName}${part.isError ? ' (error)' : ''}: ${clip(resultText(part), 1200)}`,
        );
      }
    }
  }
  return lines;
}

async function summarise(
  lines: readonly string[],
  options: CompactConversationOptions & { summaryMaxTokens: number; count: TokenCounter },
): Promise<string> {
  const { summarizer, summaryMaxTokens, count } = options;
  const room = Math.max(
    256,
    summarizer.capabilities.contextLength - summaryMaxTokens - count(SUMMARY_INSTRUCTIONS) - 64,
  );
  let summary = '';
  let index = 0;
  while (index < lines.length) {
    const available = Math.max(128, room - count(summary));
    const chunk: string[] = [];
    let used = 0;
    while (index < lines.length) {
      let line = lines[index]!;
      let tokens = count(line) + 1;
      if (chunk.length === 0 && tokens > available) {
        line = clip(line, Math.max(200, available * 3));
        tokens = count(line) + 1;
      }
      if (chunk.length > 0 && used + tokens > available) break;
      chunk.push(line);
      used += tokens;
      index++;
    }
    const result = await summarizer.generate({
      messages: [
        { role: 'system', content: SUMMARY_INSTRUCTIONS },
        {
          role: 'user',
          content:
            `${summary ? `Summary so far:\n${summary}\n\n` : ''}Conversation to summarise:\n${chunk.join('\n')}\n\n` +
            `Write the ${summary ? 'updated ' : ''}summary now.`,
        },
      ],
      maxTokens: summaryMaxTokens,
      temperature: 0,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    options.signal?.throwIfAborted();
    const text = result.text.trim();
    if (text === '') throw new Error('the summariser returned no text');
    summary = text;
  }
  return summary;
}

/** Without a summary: the user's requests from the older turns, so the gist survives. */
function digest(messages: readonly ChatMessage[]): string {
  const requests = messages
    .filter((message) => message.role === 'user')
    .map((message) =>
      isCompactionSummary(message)
        ? clip(contentText(message.content).slice(COMPACTION_SUMMARY_HEADER.length).trim(), 1500)
        : `- ${clip(contentText(message.content).replace(/\s+/g, ' ').trim(), 300)}`,
    );
  return [
    'Older messages were left out to fit the context window (they could not be summarised). The user said in them:',
    ...requests,
  ].join('\n');
}

/**
 * Shortens the longest tool results (and messages) after `from` until the conversation fits;
 * returns how many were shortened.
 */
function shortenToFit(messages: ChatMessage[], from: number, maxTokens: number, count: TokenCounter): number {
  let shortened = 0;
  for (let attempt = 0; attempt < 50; attempt++) {
    const excess = countMessageTokens(messages, count) - maxTokens;
    if (excess <= 0) break;
    let best: { index: number; part?: number; text: string } | undefined;
    for (let index = from; index < messages.length; index++) {
      const message = messages[index]!;
      if (message.role === 'tool') {
        message.content.forEach((part, position) => {
          const text = resultText(part);
          if (text.length > 400 && (!best || text.length > best.text.length))
            best = { index, part: position, text };
        });
      } else if (typeof message.content === 'string' && message.content.length > 400) {
        if (!best || message.content.length > best.text.length) best = { index, text: message.content };
      }
    }
    if (!best) break;
    const charsPerToken = best.text.length / Math.max(1, count(best.text));
    const target = Math.max(300, best.text.length - Math.ceil((excess + 32) * charsPerToken));
    const message = messages[best.index]!;
    if (message.role === 'tool' && best.part !== undefined) {
      const content = [...message.content];
      content[best.part] = { ...content[best.part]!, content: clip(best.text, target) };
      messages[best.index] = { role: 'tool', content };
    } else {
      messages[best.index] = { ...message, content: clip(best.text, target) } as ChatMessage;
    }
    shortened++;
  }
  return shortened;
}

/**
 * Fits a conversation into `maxTokens` when it no longer does: the system prompt stays, the latest
 * turns stay word for word (and the user's latest request), and the older turns are replaced by a
 * summary the `summarizer` writes (in several passes when they exceed its own context). A tool call
 * and its result are never split. If summarising fails, the older turns give way to a digest of the
 * user's requests; if the latest turns alone do not fit, their longest tool results are shortened.
 * Never throws for the model's failures (only when `signal` aborts).
 *
 * @example
 * ```ts
 * const { messages, compaction } = await compactConversation({ messages: history, summarizer: model, maxTokens: 6000 });
 * if (compaction) console.log(`(compacted ${compaction.removedMessages} messages)`);
 * ```
 */
export async function compactConversation(
  options: CompactConversationOptions,
): Promise<CompactConversationResult> {
  const logger = (options.logger ?? silentLogger).child({ module: 'compaction' });
  const count = options.countTokens ?? estimateTokens;
  const messages = [...options.messages];
  const tokensBefore = countMessageTokens(messages, count);
  if (tokensBefore <= options.maxTokens && !options.force) return { messages };
  const maxTokens = options.force
    ? Math.floor(Math.min(options.maxTokens, tokensBefore) * 0.7)
    : options.maxTokens;
  const summaryMaxTokens =
    options.summaryMaxTokens ?? Math.max(64, Math.min(1024, Math.floor(options.maxTokens * 0.15)));

  let headLength = 0;
  while (messages[headLength]?.role === 'system') headLength++;
  const head = messages.slice(0, headLength);
  const units = groupTurns(messages.slice(headLength));
  const headTokens = countMessageTokens(head, count);
  const keepBudget = Math.max(
    0,
    Math.min(
      options.keepRecentTokens ?? Math.floor(maxTokens * 0.4),
      maxTokens - headTokens - summaryMaxTokens - 64,
    ),
  );

  let kept = 0;
  let keptTokens = 0;
  for (let index = units.length - 1; index >= 0; index--) {
    const tokens = countMessageTokens(units[index]!, count);
    if (kept > 0 && keptTokens + tokens > keepBudget) break;
    kept++;
    keptTokens += tokens;
  }
  const older = units.slice(0, units.length - kept).flat();
  const recent = units.slice(units.length - kept).flat();

  // The user's latest request stays word for word even when the turns after it must go.
  let pinned: ChatMessage | undefined;
  if (!recent.some((message) => message.role === 'user' && !isCompactionSummary(message))) {
    for (let index = older.length - 1; index >= 0; index--) {
      const message = older[index]!;
      if (message.role === 'user' && !isCompactionSummary(message)) {
        if (countMessageTokens([message], count) <= keepBudget / 2) pinned = message;
        break;
      }
    }
  }

  let method: ConversationCompaction['method'] = 'shortened';
  let summary = '';
  const result: ChatMessage[] = [...head];
  const summarisable = older.filter((message) => message !== pinned);
  // When the request itself is the oldest message left, it stays first and the summary of the work on it follows.
  const pinnedFirst = pinned !== undefined && older[0] === pinned;
  if (pinnedFirst) result.push(pinned!);
  if (summarisable.length > 0) {
    try {
      summary = await summarise(transcript(older), { ...options, summaryMaxTokens, count });
      method = 'summary';
    } catch (error) {
      if (options.signal?.aborted) throw error;
      logger.warn({ err: error }, 'summarising older turns failed; keeping a digest of the requests instead');
      summary = digest(older);
      method = 'digest';
    }
    result.push({ role: 'user', content: `${COMPACTION_SUMMARY_HEADER}\n\n${summary}` });
  }
  if (pinned && !pinnedFirst) result.push(pinned);
  result.push(...recent);
  const shortenedMessages = shortenToFit(result, headLength, maxTokens, count);
  if (summarisable.length === 0 && shortenedMessages === 0) return { messages };
  const compaction: ConversationCompaction = {
    removedMessages: summarisable.length,
    tokensBefore,
    tokensAfter: countMessageTokens(result, count),
    summary,
    method,
    shortenedMessages,
  };
  logger.info(
    {
      removedMessages: compaction.removedMessages,
      tokensBefore,
      tokensAfter: compaction.tokensAfter,
      method,
      shortenedMessages,
    },
    'conversation compacted',
  );
  return { messages: result, compaction };
}

/** Settings of {@link createCompactor}. */
export interface CompactorOptions {
  /** The model the conversation goes to: its context length and output limit set the budget. */
  model: Pick<ChatModel, 'capabilities'>;
  /** Writes summaries: the local model or a teacher (often the same model). */
  summarizer: ChatModel;
  /** The context to fit, in tokens, when it is not the model's `contextLength`. */
  contextTokens?: number;
  /** Room left for the answer (default the model's `maxOutputTokens`, at most a quarter of the context). */
  reserveOutputTokens?: number;
  countTokens?: TokenCounter;
  keepRecentTokens?: number;
  summaryMaxTokens?: number;
  logger?: Logger;
}

/**
 * A compactor for the tool loop's `compact` option: before each turn it measures the conversation
 * plus the tools' descriptions against the model's context, less room for the answer, and compacts
 * with {@link compactConversation} when it does not fit. The loop reports each compaction as a
 * `compaction` event.
 *
 * @example
 * ```ts
 * for await (const event of runToolLoop({ model, tools, permissions, cwd, messages,
 *   compact: createCompactor({ model, summarizer: model }) })) {
 *   if (event.type === 'compaction') console.log(`(compacted ${event.compaction.removedMessages} older messages)`);
 * }
 * ```
 */
export function createCompactor(options: CompactorOptions): ConversationCompactor {
  const count = options.countTokens ?? estimateTokens;
  return async ({ messages, tools, signal, force }) => {
    const context = options.contextTokens ?? options.model.capabilities.contextLength;
    const reserve =
      options.reserveOutputTokens ??
      Math.min(options.model.capabilities.maxOutputTokens, Math.floor(context / 4));
    const toolTokens = tools.tools.length > 0 ? count(buildToolSystemPrompt({ tools, example: false })) : 0;
    const maxTokens = Math.max(128, context - reserve - toolTokens);
    const result = await compactConversation({
      messages,
      summarizer: options.summarizer,
      maxTokens,
      countTokens: count,
      force,
      signal,
      ...(options.keepRecentTokens !== undefined ? { keepRecentTokens: options.keepRecentTokens } : {}),
      ...(options.summaryMaxTokens !== undefined ? { summaryMaxTokens: options.summaryMaxTokens } : {}),
      ...(options.logger ? { logger: options.logger } : {}),
    });
    return result.compaction ? { messages: result.messages, compaction: result.compaction } : undefined;
  };
}
