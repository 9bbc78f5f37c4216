import { join } from 'node:path';
import type { Logger } from '@shammah/provider';

/** The CLI's log file, beside the daemon's. */
export function cliLogPath(home: string): string {
  return join(home, 'cli.log');
}

/**
 * The CLI's pino logger. It writes to `cli.log` in Shammah's home, never to the terminal (the TUI
 * owns the screen and one-shot output must stay clean): warnings and errors, everything with
 * `--debug` or `[features] debug_logging = true`.
 */
export async function createLogger(home: string, debug: boolean): Promise<Logger & { flush?: () => void }> {
  const { default: pino } = await import('pino');
  const destination = pino.destination({ dest: cliLogPath(home), mkdir: true, sync: false });
  const logger = pino(
    { level: debug ? 'debug' : 'warn', base: { app: 'shammah', pid: process.pid } },
    destination,
  );
  process.once('exit', () => {
    try {
      destination.flushSync();
    } catch {
      // Nothing was written yet, or the file is gone: nothing to flush.
    }
  });
  return logger;
}
