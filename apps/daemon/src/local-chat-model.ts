import type { ChatModel, ChatRequest } from '@shammah/provider';

/** Where a local model is in its life (the shape `Generator.status` has). */
export interface LocalModelStatus {
  readonly state: 'absent' | 'downloading' | 'loading' | 'ready' | 'failed';
  /** Download progress, 0–1. */
  readonly progress?: number;
  /** Why loading failed. */
  readonly reason?: string;
  readonly variant?: string;
  readonly executionProvider?: string;
  /** Requests the model decodes together (once ready; 1 when it cannot batch). */
  readonly batchSize?: number;
}

/** A local chat model that reports its status: `Generator` from `@shammah/core-inference` is one. */
export interface LocalChatModel extends ChatModel {
  readonly status: LocalModelStatus;
}

/** The key under `ChatRequest.providerOptions` that carries the daemon's own per-request fields. */
export const DAEMON_OPTIONS_KEY = 'shammah-daemon';

/** Fields the daemon passes down to its model wrappers with each request. */
export interface DaemonRequestOptions {
  /** Whose line of the fair queue the request waits in: the session id or the client's address. */
  queueKey?: string;
}

/** The daemon's fields of a request. */
export function daemonOptionsOf(request: ChatRequest): DaemonRequestOptions {
  return (request.providerOptions?.[DAEMON_OPTIONS_KEY] ?? {}) as DaemonRequestOptions;
}
