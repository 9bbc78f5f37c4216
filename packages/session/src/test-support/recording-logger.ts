import type { Logger } from '@shammah/provider';

/** One line a {@link RecordingLogger} received. */
export interface LogEntry {
  level: 'debug' | 'info' | 'warn' | 'error';
  bindings: Record<string, unknown>;
  object: unknown;
  message: string | undefined;
}

/** A pino-compatible logger that keeps what it is told, with the bindings of its children. */
export class RecordingLogger implements Logger {
  constructor(
    readonly entries: LogEntry[] = [],
    private readonly bindings: Record<string, unknown> = {},
  ) {}

  child(bindings: Record<string, unknown>): Logger {
    return new RecordingLogger(this.entries, { ...this.bindings, ...bindings });
  }

  debug(object: unknown, message?: string): void {
    this.entries.push({ level: 'debug', bindings: this.bindings, object, message });
  }
  info(object: unknown, message?: string): void {
    this.entries.push({ level: 'info', bindings: this.bindings, object, message });
  }
  warn(object: unknown, message?: string): void {
    this.entries.push({ level: 'warn', bindings: this.bindings, object, message });
  }
  error(object: unknown, message?: string): void {
    this.entries.push({ level: 'error', bindings: this.bindings, object, message });
  }
}
