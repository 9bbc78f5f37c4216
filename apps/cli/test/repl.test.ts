import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { makeHome, shammahCommand, type TestHome } from './support/shammah-home.js';
import { TmuxTerminal } from './support/tmux-terminal.js';

/** The input box: the lines between its top and bottom borders. */
function inputBox(screen: string): string[] {
  const lines = screen.split('\n');
  const top = lines.findLastIndex((line) => line.startsWith('┌'));
  const bottom = lines.findLastIndex((line) => line.startsWith('└'));
  return lines.slice(top + 1, bottom).map((line) => line.replace(/^│/, '').replace(/│\s*$/, '').trimEnd());
}

/** The status bar: the last non-empty line. */
function statusBar(screen: string): string {
  return screen.trimEnd().split('\n').at(-1) ?? '';
}

describe('the REPL in a real terminal, on the real model', () => {
  let home: TestHome;
  let terminal: TmuxTerminal | undefined;

  beforeAll(async () => {
    home = await makeHome();
  });
  afterEach(async () => {
    await terminal?.kill();
    terminal = undefined;
  });
  afterAll(async () => {
    await home.remove();
  });

  const start = async (...args: string[]) => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(...args), env: home.env });
    await terminal.waitFor('Ask anything', 30_000);
    return terminal;
  };

  it('answers a question with the local model and shows the figures in the status bar', async () => {
    const term = await start();
    expect(await term.paneFlag('alternate_on')).toBe('1');
    await term.type('What is the capital of France?');
    await term.press('Enter');
    const screen = await term.waitFor(/first token [\d.]+ (ms|s)/, 120_000);
    expect(screen).toContain('› What is the capital of France?');
    expect(screen).toMatch(/⏺ local · HuggingFaceTB\/SmolLM2-135M-Instruct · (local-default|no-teacher)/);
    expect(screen).toMatch(/Paris/);
    expect(statusBar(screen)).toMatch(
      /● local · SmolLM2-135M-Instruct │ \d+→\d+ tok · [\d.]+ tok\/s │ TTFT [\d.]+ (ms|s) │ in-process │ \d+ tok · \$0/,
    );

    // Slash commands answer at once, without the model.
    await term.type('/status');
    await term.press('Enter');
    const status = await term.waitFor('Backend:');
    expect(status).toMatch(/Backend: +in this process/);
    expect(status).toMatch(/Local: +HuggingFaceTB\/SmolLM2-135M-Instruct — ready, no tools/);
    expect(status).toMatch(/Session: +\d+ tokens · \$0 · 2 messages/);
    await term.type('/nope');
    await term.press('Enter');
    await term.waitFor('Unknown command /nope. /help lists the commands.');
    await term.type('/exit');
    await term.press('Enter');
    expect(await term.exitCode()).toBe(0);
  });

  it('keeps history across runs, recalled with Up, and edits several lines', async () => {
    const history = await readFile(join(home.home, 'history.txt'), 'utf8');
    expect(history.split('\n')).toEqual([
      '#V2',
      'What is the capital of France?',
      '/status',
      '/nope',
      '/exit',
      '',
    ]);

    const term = await start();
    await term.press('Up');
    expect(inputBox(await term.waitFor('› /exit'))).toEqual(['› /exit']);
    await term.press('Up', 'Up', 'Up');
    expect(inputBox(await term.waitFor('› What is the capital of France?'))).toEqual([
      '› What is the capital of France?',
    ]);
    await term.press('Down');
    await term.waitFor('› /status');

    // Ctrl+J, Alt+Enter and a trailing backslash each start a new line; Enter alone would send.
    await term.press('C-u');
    await term.type('first line');
    await term.press('C-j');
    await term.type('second line');
    await term.press('M-Enter');
    await term.type('third line\\');
    await term.press('Enter');
    await term.type('fourth');
    const editing = inputBox(await term.waitFor('fourth'));
    expect(editing).toEqual(['› first line', '  second line', '  third line', '  fourth']);
    // Ctrl-C on a non-empty input clears it; the REPL keeps running.
    await term.press('C-c');
    await term.waitFor('Ask anything');
    await term.press('C-d');
    expect(await term.exitCode()).toBe(0);
  });

  it('streams, cancels the answer on Ctrl-C, exits on a second Ctrl-C and restores the terminal', async () => {
    const term = await start();
    await term.type('Write a long story about a brave dragon who lives in the mountains.');
    await term.press('Enter');
    const early = await term.waitFor(/⏺ local[^\n]*\n {2}\S+ \S+ \S+ \S+/, 120_000);
    // While it streams, the status bar counts tokens and, once there is a rate to show, tokens/s.
    expect(statusBar(early)).toMatch(/\d+ tok/);
    await term.waitFor((screen) => /\d+ tok · [\d.]+ tok\/s/.test(statusBar(screen)), 30_000);
    // The answer grows while it streams.
    const answerOf = (screen: string) => screen.slice(screen.indexOf('⏺ local')).split('┌')[0]!.trim();
    const first = answerOf(early);
    const later = await term.waitFor((screen) => answerOf(screen).length > first.length + 10, 60_000);
    expect(answerOf(later).startsWith(first.slice(0, 40))).toBe(true);

    await term.press('C-c');
    const cancelled = await term.waitFor('[cancelled]');
    expect(cancelled).toContain('Ask anything');
    expect(cancelled).not.toContain('EXITED');
    // The model stopped: the answer no longer grows.
    const frozen = answerOf(cancelled);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(answerOf(await term.screen())).toBe(frozen);

    // Once the three seconds after the cancel have passed, Ctrl-C warns first; the next one exits.
    await new Promise((resolve) => setTimeout(resolve, 2000));
    await term.press('C-c');
    await term.waitFor('Press Ctrl-C again to exit.');
    await term.press('C-c');
    expect(await term.exitCode()).toBe(0);
    expect(await term.paneFlag('alternate_on')).toBe('0');
    expect(await term.paneFlag('cursor_flag')).toBe('1');
    const after = await term.screen();
    expect(after).not.toContain('Ask anything');
    expect(after).not.toContain('│');
  });

  it('quits at once while the model is still loading, without crashing the runtime', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.press('C-d');
    // The terminal is handed back first; the process ends once the model worker has settled.
    await term.waitFor((screen) => !screen.includes('Ask anything'), 5_000);
    expect(await term.paneFlag('alternate_on')).toBe('0');
    expect(await term.exitCode(60_000)).toBe(0);
    expect(await term.screen()).not.toMatch(/Aborted|terminate called/);
  });

  it('restores the terminal when killed with SIGTERM', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env });
    const term = terminal;
    await term.waitFor('Ask anything', 30_000);
    await term.type('half-typed');
    const { execFile } = await import('node:child_process');
    const { promisify } = await import('node:util');
    const shell = await term.paneFlag('pane_pid');
    const { stdout } = await promisify(execFile)('pgrep', ['-P', shell, '-f', 'shammah\\.cjs']);
    process.kill(Number(stdout.trim().split('\n')[0]), 'SIGTERM');
    expect(await term.exitCode(60_000)).toBe(143);
    expect(await term.paneFlag('alternate_on')).toBe('0');
    expect(await term.paneFlag('cursor_flag')).toBe('1');
    expect(await term.screen()).not.toContain('half-typed');
  });

  it('draws the prompt before the UI has loaded, and keeps what is typed meanwhile', async () => {
    terminal = await TmuxTerminal.start({ command: shammahCommand(), env: home.env });
    const term = terminal;
    const early = await term.waitFor(/starting…|Ask anything/, 30_000);
    await term.type('typed early');
    if (early.includes('Ask anything'))
      console.warn('The full UI was up before the first capture; type-ahead not exercised.');
    await term.waitFor('› typed early', 30_000);
    await term.waitFor((screen) => statusBar(screen).includes('in-process'), 30_000);
    await term.press('C-u', 'C-d');
    expect(await term.exitCode(60_000)).toBe(0);
  });
});
