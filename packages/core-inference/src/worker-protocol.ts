import type { ChatRequest, ChatStreamPart, ModelCapabilities } from '@shammah/provider';
import { ContextLengthError, ShammahError } from '@shammah/provider';
import {
  CorruptModelError,
  DownloadError,
  ModelNotFoundError,
  ModelNotReadyError,
  OutOfMemoryError,
  UnsupportedModelError,
} from './errors.js';
import type { GenerationOptions } from './generation-options.js';
import type { GeneratorOptions, GeneratorStatus, TokenEvent } from './generator.js';
import type { LogMessage } from './thread-logger.js';

/** Generator options that can cross a thread boundary (no functions, no logger). */
export type WorkerGeneratorInit = Omit<GeneratorOptions, 'logger' | 'onDownloadProgress'>;

/** An error as it crosses the thread boundary. */
export interface SerializedError {
  name: string;
  message: string;
  code?: string;
  count?: number;
  limit?: number;
}

/** What the status looks like on the wire (errors serialized). */
export type WireStatus =
  | Exclude<GeneratorStatus, { state: 'failed' }>
  | { state: 'failed'; reason: string; error: SerializedError };

export type ToWorker =
  | { type: 'init'; options: WorkerGeneratorInit }
  | { type: 'tokens'; id: number; promptIds: number[]; options: Omit<GenerationOptions, 'signal'> }
  | { type: 'chat'; id: number; request: Omit<ChatRequest, 'signal'> }
  | { type: 'score'; id: number; prompt: number[]; continuation: number[] }
  | { type: 'encode-chat'; id: number; request: Pick<ChatRequest, 'messages' | 'tools'> }
  | { type: 'abort'; id: number }
  | { type: 'clear-prefix-cache' }
  | { type: 'dispose'; id: number };

export type FromWorker =
  | { type: 'status'; status: WireStatus; capabilities: ModelCapabilities }
  | { type: 'token'; id: number; event: TokenEvent }
  | { type: 'part'; id: number; part: ChatStreamPart }
  | { type: 'result'; id: number; value: unknown }
  | { type: 'end'; id: number }
  | { type: 'error'; id: number; error: SerializedError }
  | LogMessage;

export function serializeError(error: unknown): SerializedError {
  if (error instanceof ContextLengthError) {
    return {
      name: error.name,
      message: error.message,
      code: error.code,
      count: error.count,
      limit: error.limit,
    };
  }
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { name: 'Error', message: String(error) };
}

const ERROR_CLASSES: Record<string, new (message: string) => Error> = {
  ModelNotFoundError,
  CorruptModelError,
  UnsupportedModelError,
  OutOfMemoryError,
  DownloadError,
  ModelNotReadyError,
};

/** Rebuilds an error of the same class on this side of the thread boundary. */
export function deserializeError(error: SerializedError): Error {
  if (error.name === 'ContextLengthError' && error.count !== undefined && error.limit !== undefined) {
    return new ContextLengthError(error.count, error.limit);
  }
  const Known = ERROR_CLASSES[error.name];
  if (Known) return new Known(error.message);
  if (error.code) return new ShammahError(error.code, error.message);
  const plain = new Error(error.message);
  plain.name = error.name;
  return plain;
}
