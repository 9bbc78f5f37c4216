import type { Logger } from '@shammah/provider';

/** A log call as it crosses a thread boundary. */
export interface LogMessage {
  type: 'log';
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  object: unknown;
  message?: string;
}

/** A logger for a worker thread that posts each call to the parent, which replays it. */
export function postingLogger(
  post: (message: LogMessage) => void,
  bindings: Record<string, unknown> = {},
): Logger {
  const log =
    (level: LogMessage['level']) =>
    (object: unknown, message?: string): void =>
      post({ type: 'log', level, bindings, object, ...(message !== undefined ? { message } : {}) });
  return {
    child: (more) => postingLogger(post, { ...bindings, ...more }),
    debug: log('debug'),
    info: log('info'),
    warn: log('warn'),
    error: log('error'),
  };
}

/** Replays a worker's log call on the parent's logger. */
export function replayLog(logger: Logger, message: LogMessage): void {
  const target = Object.keys(message.bindings).length ? logger.child(message.bindings) : logger;
  target[message.level](message.object, message.message);
}
