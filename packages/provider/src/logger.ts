/** The part of pino's logger that libraries use. Apps pass a pino instance; libraries call `child`. */
export interface Logger {
  child(bindings: Record<string, unknown>): Logger;
  debug(object: unknown, message?: string): void;
  info(object: unknown, message?: string): void;
  warn(object: unknown, message?: string): void;
  error(object: unknown, message?: string): void;
}

/** A logger that drops everything: the default for libraries when the caller passes none. */
export const silentLogger: Logger = {
  child: () => silentLogger,
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
};
