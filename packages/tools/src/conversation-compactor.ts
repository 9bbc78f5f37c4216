import type { ChatMessage } from '@shammah/provider';
import type { ToolSet } from './tool-set.js';

/** What one compaction did: how much of the conversation a summary replaced. */
export interface ConversationCompaction {
  /** How many of the older messages the summary replaced. */
  removedMessages: number;
  /** The estimated size of the prompt before and after, in tokens. */
  tokensBefore: number;
  tokensAfter: number;
  /** The summary that now stands for the removed messages. */
  summary: string;
  /**
   * `summary`: a model summarised the older turns. `digest`: summarising failed, so the older turns
   * were replaced by a list of the user's requests. `shortened`: nothing older could go, so long
   * tool results of the recent turns were shortened instead.
   */
  method: 'summary' | 'digest' | 'shortened';
  /** Tool results (or messages) of the kept turns that were shortened to fit. */
  shortenedMessages: number;
}

/** What the tool loop hands a {@link ConversationCompactor} before each model turn. */
export interface CompactionRequest {
  /** The whole conversation the next turn would send. */
  messages: readonly ChatMessage[];
  /** The tools offered this turn; their descriptions take room in the prompt too. */
  tools: ToolSet;
  signal: AbortSignal;
  /** The model just refused the prompt as too long: compact even if the estimate says it fits. */
  force: boolean;
}

/**
 * Shortens a conversation that no longer fits the model's context, or returns `undefined` when it
 * fits. `@shammah/session`'s `createCompactor` implements it by summarising older turns.
 */
export type ConversationCompactor = (
  request: CompactionRequest,
) => Promise<{ messages: ChatMessage[]; compaction: ConversationCompaction } | undefined>;
