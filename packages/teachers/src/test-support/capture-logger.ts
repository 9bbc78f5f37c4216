import type { Logger } from '@shammah/provider';

/** One log call, with the bindings of the child logger it went through. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  object: unknown;
  message: string | undefined;
}

/** A logger that keeps every entry, for asserting what was (and was not) logged. */
export function captureLogger(): { logger: Logger; entries: LogEntry[]; text(): string } {
  const entries: LogEntry[] = [];
  const make = (bindings: Record<string, unknown>): Logger => {
    const log =
      (level: LogEntry['level']) =>
      (object: unknown, message?: string): void => {
        entries.push({ level, bindings, object, message });
      };
    return {
      child: (more) => make({ ...bindings, ...more }),
      debug: log('debug'),
      info: log('info'),
      warn: log('warn'),
      error: log('error'),
    };
  };
  return {
    logger: make({}),
    entries,
    text: () =>
      entries
        .map((entry) =>
          JSON.stringify({
            ...entry,
            object: entry.object instanceof Error ? String(entry.object) : entry.object,
          }),
        )
        .join('\n'),
  };
}
