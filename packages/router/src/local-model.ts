import type { ChatModel } from '@shammah/provider';

/** Where a local model is in its life. */
export type LocalModelState = 'absent' | 'downloading' | 'loading' | 'ready' | 'failed';

/** What the router reads of a local model's status. */
export interface LocalModelStatus {
  readonly state: LocalModelState;
  /** Download progress, 0–1, while `downloading`. */
  readonly progress?: number;
  /** Why loading failed, when `failed`. */
  readonly reason?: string;
}

/**
 * A local chat model that reports whether it is ready. `Generator` from `@shammah/core-inference`
 * satisfies it as it is; the router depends only on this shape, not on the inference package.
 */
export interface LocalModel extends ChatModel {
  readonly status: LocalModelStatus;
}
