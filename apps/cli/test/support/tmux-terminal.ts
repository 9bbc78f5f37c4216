import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** Options of {@link TmuxTerminal.start}. */
export interface TerminalOptions {
  /** The shell command to run in the terminal. */
  command: string;
  env?: Record<string, string>;
  cwd?: string;
  width?: number;
  height?: number;
}

let counter = 0;

/**
 * A real terminal for end-to-end tests: a detached tmux session of a given size running one
 * command, driven with `send-keys` and read with `capture-pane`, on a tmux server of its own.
 * After the command exits, the pane stays (it prints `EXITED <code>` and waits) so the test can
 * read what the terminal was left showing.
 */
export class TmuxTerminal {
  readonly socket: string;
  readonly session = 'shammah';

  private constructor(socket: string) {
    this.socket = socket;
  }

  static async start(options: TerminalOptions): Promise<TmuxTerminal> {
    const terminal = new TmuxTerminal(`shammah-test-${process.pid}-${++counter}`);
    const env = Object.entries({ LANG: 'C.UTF-8', ...options.env })
      .map(([key, value]) => `${key}=${shellQuote(value)}`)
      .join(' ');
    const script = `cd ${shellQuote(options.cwd ?? process.cwd())} && env ${env} ${options.command}; echo "EXITED $?"; trap '' INT; sleep 600`;
    await terminal.#tmux(
      'new-session',
      '-d',
      '-s',
      terminal.session,
      '-x',
      String(options.width ?? 120),
      '-y',
      String(options.height ?? 40),
      script,
    );
    return terminal;
  }

  async #tmux(...args: string[]): Promise<string> {
    const { stdout } = await run('tmux', ['-L', this.socket, '-f', '/dev/null', ...args], {
      env: { ...process.env, LANG: 'C.UTF-8' },
    });
    return stdout;
  }

  /** Sends keys by tmux name (`Enter`, `C-c`, `Up`, `M-Enter`, `BTab`). */
  async press(...keys: string[]): Promise<void> {
    for (const key of keys) await this.#tmux('send-keys', '-t', this.session, key);
  }

  /** Types text literally. */
  async type(text: string): Promise<void> {
    await this.#tmux('send-keys', '-t', this.session, '-l', text);
  }

  /** What the terminal shows now. */
  async screen(): Promise<string> {
    return this.#tmux('capture-pane', '-p', '-t', this.session);
  }

  /** A tmux format value of the pane (`alternate_on`, `cursor_flag`, …). */
  async paneFlag(name: string): Promise<string> {
    return (await this.#tmux('display-message', '-p', '-t', this.session, `#{${name}}`)).trim();
  }

  /** Waits until the screen matches; throws with the screen when it does not in time. */
  async waitFor(
    expected: RegExp | string | ((screen: string) => boolean),
    timeoutMs = 60_000,
  ): Promise<string> {
    const test =
      typeof expected === 'function'
        ? expected
        : typeof expected === 'string'
          ? (screen: string) => screen.includes(expected)
          : (screen: string) => expected.test(screen);
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    while (Date.now() < deadline) {
      screen = await this.screen();
      if (test(screen)) return screen;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(
      `The terminal did not show ${String(expected)} within ${timeoutMs} ms. It shows:\n${screen}`,
    );
  }

  /** The command's exit code once it ended (from the `EXITED` line), waiting for it. */
  async exitCode(timeoutMs = 15_000): Promise<number> {
    const screen = await this.waitFor(/EXITED \d+/, timeoutMs);
    return Number(/EXITED (\d+)/.exec(screen)![1]);
  }

  async kill(): Promise<void> {
    await this.#tmux('kill-server').catch(() => undefined);
  }
}

function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
