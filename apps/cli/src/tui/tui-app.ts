import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { PassThrough } from 'node:stream';
import type { Widgets } from 'blessed';
import type { Choice, ReplOptions, ReplView } from '../repl/repl-controller.js';
import { ReplController } from '../repl/repl-controller.js';
import type { TranscriptEntry } from '../repl/transcript.js';
import { FrameScheduler } from './frame-scheduler.js';
import { InputEditor } from './input-editor.js';
import { KeyDecoder, type KeyEvent } from './key-decoder.js';
import { escapeTags } from './markdown.js';
import { renderEntry } from './render-entry.js';

// Only the two widgets the TUI uses: loading all of blessed costs a third more start-up time.
const require = createRequire(import.meta.url);
const blessed = {
  screen: require('blessed/lib/widgets/screen') as (options: Widgets.IScreenOptions) => Widgets.Screen,
  box: require('blessed/lib/widgets/box') as (options: Widgets.BoxOptions) => Widgets.BoxElement,
};

/** Terminal modes the TUI turns on: bracketed paste, kitty's key disambiguation, xterm's modifyOtherKeys. */
const ENTER_MODES = '\x1b[?2004h\x1b[>1u\x1b[>4;1m';
const LEAVE_MODES = '\x1b[?2004l\x1b[<u\x1b[>4m';
const MAX_INPUT_LINES = 10;
const SPINNER = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
/** Rendered transcript kept in the scrollback box; older entries drop off the top. */
const MAX_RENDERED_ENTRIES = 400;

/** blessed's screen leaves and re-enters the alternate screen with these (missing from its types). */
interface AltScreen {
  leave(): void;
  enter(): void;
}

interface PendingChoice {
  question: string;
  choices: Choice<string>[];
  selected: number;
  resolve: (value: string) => void;
  fallback: string;
}

/** How the TUI was started. */
export interface TuiOptions extends ReplOptions {
  /** Writes the times from process start to the first prompt and to the full UI here (for the benchmark). */
  timeToPromptFile?: string;
  /** When the instant frame was drawn (ms since process start), if one was. */
  instantFrameAt?: number;
  /** When the `shammah` script began to run (ms since process start). */
  scriptStartedAt?: number;
}

/**
 * The interactive REPL on a full-screen blessed UI: the conversation's scrollback with answers
 * rendered as they stream, a multi-line input, prompts for permissions and plans, and a status
 * bar with live figures. Redraws at most 20 times a second, through blessed's diffing renderer,
 * so nothing flickers. The terminal is restored on every way out (exit, Ctrl-C twice, SIGTERM,
 * SIGHUP, a crash). Resolves with the exit code.
 */
export function runTui(options: TuiOptions): Promise<number> {
  return new Promise<number>((resolveExit) => {
    const stdin = process.stdin;
    const stdout = process.stdout;
    const screen = blessed.screen({
      input: new PassThrough() as never,
      output: stdout,
      smartCSR: true,
      fullUnicode: true,
      forceUnicode: true,
      title: 'Shammah',
      warnings: false,
      dockBorders: true,
    });
    // Write box-drawing characters as UTF-8, not through the VT100 alternate character set: the
    // alternate set shows as letters ("lqqk") where it is not honoured, and breaks copying text.
    (screen.program as unknown as { tput: { brokenACS: boolean } }).tput.brokenACS = true;
    const log = blessed.box({
      parent: screen,
      top: 0,
      left: 0,
      width: '100%',
      height: 1,
      tags: true,
      wrap: true,
      scrollable: true,
      alwaysScroll: true,
      scrollbar: { ch: ' ', style: { bg: 'gray' } } as never,
    });
    const choiceBox = blessed.box({
      parent: screen,
      left: 0,
      width: '100%',
      height: 3,
      tags: true,
      hidden: true,
      border: { type: 'line' },
      style: { border: { fg: 'yellow' } },
      label: ' Shammah asks ',
    });
    const inputBox = blessed.box({
      parent: screen,
      left: 0,
      width: '100%',
      height: 3,
      tags: true,
      wrap: true,
      border: { type: 'line' },
      style: { border: { fg: 'gray' } },
    });
    const statusBar = blessed.box({
      parent: screen,
      left: 0,
      bottom: 0,
      width: '100%',
      height: 1,
      tags: true,
      style: { bg: 'blue', fg: 'white' },
    });

    const editor = new InputEditor();
    const decoder = new KeyDecoder();
    let choice: PendingChoice | undefined;
    let stickToBottom = true;
    let exited = false;
    /** An editor has the terminal (`/memory edit`). */
    let suspended = false;
    let firstFrame = true;
    const rendered = new Map<TranscriptEntry, string>();

    const view: ReplView = {
      choose(question, choices, signal, fallback) {
        return new Promise((resolve) => {
          if (signal.aborted) return resolve(fallback);
          const pending: PendingChoice = {
            question,
            choices: choices as Choice<string>[],
            selected: 0,
            resolve: resolve as (value: string) => void,
            fallback,
          };
          choice = pending;
          signal.addEventListener(
            'abort',
            () => {
              if (choice === pending) answerChoice(fallback);
            },
            { once: true },
          );
          frames.request();
        });
      },
      setInput(text) {
        editor.setValue(text);
        frames.request();
      },
      setHistory(entries) {
        editor.setHistory(entries);
      },
      refresh() {
        frames.request();
      },
      exit(code) {
        shutdown(code);
      },
      async suspend(run) {
        // The editor gets the terminal as the user left it before Shammah: main screen, cooked mode.
        suspended = true;
        frames.stop();
        stdin.off('data', onData);
        stdin.pause();
        stdout.write(LEAVE_MODES);
        (screen as unknown as AltScreen).leave();
        if (stdin.isTTY) stdin.setRawMode(false);
        try {
          return await run();
        } finally {
          if (stdin.isTTY) stdin.setRawMode(true);
          (screen as unknown as AltScreen).enter();
          stdout.write(ENTER_MODES);
          stdin.on('data', onData);
          stdin.resume();
          suspended = false;
          rendered.clear();
          frames.now();
        }
      },
    };
    const controller = new ReplController(view, options);
    controller.inputIsEmpty = () => editor.value === '';
    controller.clearInput = () => {
      editor.clear();
      frames.request();
    };
    controller.transcript.onChange((change) => {
      if (change.type === 'cleared') rendered.clear();
      else if (change.entry) rendered.delete(change.entry);
      frames.request();
    });

    function answerChoice(value: string): void {
      const pending = choice;
      if (!pending) return;
      choice = undefined;
      const picked = pending.choices.find((option) => option.value === value);
      controller.transcript.notice(
        `${firstQuestionLine(pending.question)} → ${picked?.label ?? value}`,
        'dim',
      );
      pending.resolve(value);
      frames.request();
    }

    function renderTranscript(spinner: string): string {
      const entries = controller.transcript.entries.slice(-MAX_RENDERED_ENTRIES);
      const blocks: string[] = [];
      for (const entry of entries) {
        const live =
          (entry.kind === 'assistant' && entry.streaming && entry.text === '') ||
          (entry.kind === 'tool' && !entry.result);
        let text = live ? undefined : rendered.get(entry);
        if (text === undefined) {
          text = renderEntry(entry, spinner);
          if (!live) rendered.set(entry, text);
        }
        blocks.push(text);
      }
      return blocks.join('\n\n');
    }

    function renderInput(width: number): { content: string; lines: number } {
      const inner = Math.max(10, width - 2);
      const prompt = controller.stats.planMode ? '{magenta-fg}◆{/magenta-fg} ' : '{cyan-fg}›{/cyan-fg} ';
      if (editor.value === '' && !choice) {
        const hint =
          controller.stats.phase === 'starting'
            ? 'starting…'
            : controller.busy
              ? 'Ctrl-C cancels'
              : 'Ask anything · /help · Shift+Tab plan mode';
        return { content: `${prompt}{inverse} {/inverse}{gray-fg}${escapeTags(hint)}{/gray-fg}`, lines: 1 };
      }
      const { line: cursorLine, column } = editor.cursor;
      const lines = editor.lines;
      const rows = (index: number) => Math.max(1, Math.ceil((lines[index]!.length + 3) / inner));
      const shown = lines.map((text, index) => {
        const prefix = index === 0 ? prompt : '  ';
        if (index !== cursorLine || choice) return prefix + escapeTags(text);
        const at = text.slice(column, column + 1) || ' ';
        return `${prefix}${escapeTags(text.slice(0, column))}{inverse}${escapeTags(at)}{/inverse}${escapeTags(text.slice(column + 1))}`;
      });
      // The lines around the cursor that fit in the input's height.
      let start = cursorLine;
      let end = cursorLine + 1;
      let used = rows(cursorLine);
      while (start > 0 && used + rows(start - 1) <= MAX_INPUT_LINES) used += rows(--start);
      while (end < lines.length && used + rows(end) <= MAX_INPUT_LINES) used += rows(end++);
      return { content: shown.slice(start, end).join('\n'), lines: Math.min(used, MAX_INPUT_LINES) };
    }

    function renderChoice(): { content: string; lines: number } {
      if (!choice) return { content: '', lines: 0 };
      const lines = escapeTags(choice.question).split('\n');
      const body = [
        `{bold}${lines[0]}{/bold}`,
        ...lines.slice(1).map((line) => `{gray-fg}${line}{/gray-fg}`),
        ...choice.choices.map(
          (option, index) =>
            `${index === choice!.selected ? '{cyan-fg}▸{/cyan-fg}' : ' '} {bold}${escapeTags(option.key)}{/bold}  ${escapeTags(option.label)}`,
        ),
        '{gray-fg}keys or ↑/↓ and Enter; Esc = ' +
          `${escapeTags(choice.choices.find((option) => option.value === choice!.fallback)?.label ?? 'cancel')}{/gray-fg}`,
      ];
      return { content: body.join('\n'), lines: body.length };
    }

    function draw(): void {
      if (exited || suspended) return;
      const spinner = SPINNER[Math.floor(performance.now() / 80) % SPINNER.length]!;
      const width = (screen.width as number) || 80;
      const height = (screen.height as number) || 24;
      const input = renderInput(width);
      const prompt = renderChoice();
      const inputHeight = input.lines + 2;
      const choiceHeight = prompt.lines ? prompt.lines + 2 : 0;
      const logHeight = Math.max(1, height - 1 - inputHeight - choiceHeight);
      log.height = logHeight;
      choiceBox.top = logHeight;
      choiceBox.height = Math.max(3, choiceHeight);
      inputBox.top = logHeight + choiceHeight;
      inputBox.height = inputHeight;
      if (choiceHeight) {
        choiceBox.setContent(prompt.content);
        choiceBox.show();
      } else choiceBox.hide();
      inputBox.setContent(input.content);
      inputBox.style.border.fg = controller.stats.planMode ? 'magenta' : choice ? 'gray' : 'cyan';
      const segments = controller.statusSegments();
      statusBar.setContent(` ${segments.map(escapeTags).join(' {gray-fg}│{/gray-fg} ')}`);
      log.setContent(renderTranscript(spinner));
      if (stickToBottom) log.setScrollPerc(100);
      screen.render();
      if (firstFrame) {
        firstFrame = false;
        if (options.timeToPromptFile) {
          try {
            const interactive = performance.now();
            writeFileSync(
              options.timeToPromptFile,
              `${options.instantFrameAt ?? interactive} ${interactive} ${options.scriptStartedAt ?? 0}\n`,
            );
          } catch {
            // The benchmark's file is optional.
          }
        }
      }
    }
    const frames = new FrameScheduler(draw, 50);

    // While busy, tick the spinner and the live figures.
    const ticker = setInterval(() => {
      if (controller.busy || controller.stats.phase === 'starting') frames.request();
    }, 100);

    function scroll(direction: 1 | -1): void {
      const page = Math.max(1, (log.height as number) - 2);
      log.scroll(direction * page);
      const height = log.getScrollHeight();
      stickToBottom =
        (log.getScroll() as number) >= height - (log.height as number) || log.getScrollPerc() >= 100;
      frames.request();
    }

    function submit(): void {
      const text = editor.submit();
      if (text === undefined) return;
      editor.clear();
      stickToBottom = true;
      void controller.submit(text);
    }

    function handleChoiceKey(key: KeyEvent): boolean {
      if (!choice) return false;
      const pending = choice;
      if (key.name === 'up')
        pending.selected = (pending.selected + pending.choices.length - 1) % pending.choices.length;
      else if (key.name === 'down' || key.name === 'tab')
        pending.selected = (pending.selected + 1) % pending.choices.length;
      else if (key.name === 'enter') answerChoice(pending.choices[pending.selected]!.value);
      else if (key.name === 'escape') answerChoice(pending.fallback);
      else if (key.name === 'char') {
        const option = pending.choices.find((candidate) => candidate.key === key.text?.toLowerCase());
        if (option) answerChoice(option.value);
      } else return true;
      frames.request();
      return true;
    }

    function handleKey(key: KeyEvent): void {
      if (key.name === 'c' && key.ctrl) {
        if (choice) answerChoice(choice.fallback);
        const outcome = controller.interrupt();
        if (outcome === 'cancelled') stickToBottom = true;
        frames.request();
        return;
      }
      if (handleChoiceKey(key)) return;
      const { ctrl, meta, shift } = key;
      switch (key.name) {
        case 'enter':
          if (shift || meta || ctrl) editor.newline();
          else submit();
          break;
        case 'char':
          editor.insert(key.text ?? '');
          break;
        case 'paste':
          editor.insert(key.text ?? '');
          break;
        case 'space':
          editor.insert(' ');
          break;
        case 'backspace':
          if (meta || ctrl) editor.deleteWordBefore();
          else editor.backspace();
          break;
        case 'delete':
          editor.delete();
          break;
        case 'left':
          if (ctrl || meta) editor.wordLeft();
          else editor.left();
          break;
        case 'right':
          if (ctrl || meta) editor.wordRight();
          else editor.right();
          break;
        case 'up':
          if (shift) scroll(-1);
          else editor.up();
          break;
        case 'down':
          if (shift) scroll(1);
          else editor.down();
          break;
        case 'home':
          editor.home();
          break;
        case 'end':
          editor.end();
          break;
        case 'pageup':
          scroll(-1);
          break;
        case 'pagedown':
          scroll(1);
          break;
        case 'tab':
          if (shift) controller.togglePlanMode();
          else {
            const { completion, candidates } = controller.complete(editor.value);
            if (completion) editor.setValue(completion);
            else if (candidates.length > 1) controller.transcript.notice(candidates.join('  '), 'dim');
          }
          break;
        case 'escape':
          if (controller.busy) controller.interrupt();
          break;
        case 'a':
          if (ctrl) editor.home();
          break;
        case 'e':
          if (ctrl) editor.end();
          break;
        case 'b':
          if (ctrl) editor.left();
          else if (meta) editor.wordLeft();
          break;
        case 'f':
          if (ctrl) editor.right();
          else if (meta) editor.wordRight();
          break;
        case 'p':
          if (ctrl) editor.historyPrevious();
          break;
        case 'n':
          if (ctrl) editor.historyNext();
          break;
        case 'u':
          if (ctrl) editor.deleteToLineStart();
          break;
        case 'k':
          if (ctrl) editor.deleteToLineEnd();
          break;
        case 'w':
          if (ctrl) editor.deleteWordBefore();
          break;
        case 'd':
          if (ctrl) {
            if (editor.value === '') {
              shutdown(0);
              return;
            }
            editor.delete();
          }
          break;
        case 'l':
          if (ctrl) {
            screen.realloc();
            frames.now();
            return;
          }
          break;
      }
      frames.request();
    }

    let escapeTimer: ReturnType<typeof setTimeout> | undefined;
    const onData = (chunk: Buffer) => {
      clearTimeout(escapeTimer);
      for (const key of decoder.push(chunk.toString('utf8'))) handleKey(key);
      escapeTimer = setTimeout(() => {
        for (const key of decoder.flush()) handleKey(key);
      }, 30);
    };

    function restoreTerminal(): void {
      if (exited) return;
      exited = true;
      frames.stop();
      clearInterval(ticker);
      clearTimeout(escapeTimer);
      stdin.off('data', onData);
      try {
        stdout.write(LEAVE_MODES);
        screen.destroy();
      } catch {
        // The terminal is gone; nothing left to restore.
      }
      try {
        if (stdin.isTTY) stdin.setRawMode(false);
      } catch {
        // Same.
      }
      stdin.pause();
    }

    function shutdown(code: number): void {
      if (exited) return;
      restoreTerminal();
      removeHandlers();
      // The terminal is the user's again at once; the process ends once the model is freed (a model
      // still loading cannot be torn down mid-load without crashing the runtime, so it may take a moment).
      const slow = setTimeout(
        () => process.stderr.write('Waiting for the model to finish loading before exiting…\n'),
        500,
      );
      void controller.close().finally(() => {
        clearTimeout(slow);
        resolveExit(code);
      });
    }

    const onSignal = (signal: NodeJS.Signals) => {
      if (signal === 'SIGINT') {
        handleKey({ name: 'c', ctrl: true });
        return;
      }
      restoreTerminal();
      void controller.close().finally(() => process.exit(signal === 'SIGTERM' ? 143 : 129));
    };
    const onCrash = (error: unknown) => {
      restoreTerminal();
      process.stderr.write(`shammah: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exit(1);
    };
    const onExit = () => restoreTerminal();
    const onResize = () => frames.now();
    process.on('SIGTERM', onSignal);
    process.on('SIGHUP', onSignal);
    process.on('SIGINT', onSignal);
    process.on('uncaughtException', onCrash);
    process.on('unhandledRejection', onCrash);
    process.on('exit', onExit);
    screen.on('resize', onResize);
    function removeHandlers(): void {
      process.off('SIGTERM', onSignal);
      process.off('SIGHUP', onSignal);
      process.off('SIGINT', onSignal);
      process.off('uncaughtException', onCrash);
      process.off('unhandledRejection', onCrash);
      process.off('exit', onExit);
    }

    if (stdin.isTTY) stdin.setRawMode(true);
    stdin.on('data', onData);
    stdin.resume();
    stdout.write(ENTER_MODES);
    screen.program.hideCursor();
    frames.now();
    void controller.start();
  });
}

function firstQuestionLine(question: string): string {
  return question.split('\n')[0] ?? question;
}
