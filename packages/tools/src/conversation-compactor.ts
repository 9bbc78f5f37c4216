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
  /** `summary` when a model wrote it; `dropped` when summarising failed and older turns were left out. */
  method: 'summary' | 'dropped';
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
