/** What {@link drawInstantFrame} wrote, so it can be undone if the REPL never starts. */
export interface InstantFrame {
  /** Leaves the alternate screen and shows the cursor again. */
  undo(): void;
}

/**
 * Draws the REPL's frame (the input box with its prompt and the status bar) with plain escape
 * sequences the moment the process starts, before the UI library has loaded: the prompt shows at
 * once, and keys typed meanwhile wait in the terminal's input (raw mode, so they do not echo)
 * until the full UI takes over and redraws the same frame in one write.
 */
export function drawInstantFrame(out: NodeJS.WriteStream = process.stdout): InstantFrame {
  const columns = Math.max(20, out.columns || 80);
  const rows = Math.max(6, out.rows || 24);
  const inner = columns - 2;
  const hint = 'starting…';
  const line = (row: number, text: string) => `\x1b[${row};1H${text}`;
  const frame =
    '\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J' +
    line(rows - 3, `\x1b[36m┌${'─'.repeat(inner)}┐\x1b[0m`) +
    line(
      rows - 2,
      `\x1b[36m│\x1b[0m\x1b[36m›\x1b[0m \x1b[7m \x1b[0m\x1b[90m${hint}\x1b[0m${' '.repeat(Math.max(0, inner - hint.length - 3))}\x1b[36m│\x1b[0m`,
    ) +
    line(rows - 1, `\x1b[36m└${'─'.repeat(inner)}┘\x1b[0m`) +
    line(rows, `\x1b[44m\x1b[37m ● starting…${' '.repeat(Math.max(0, columns - 12))}\x1b[0m`);
  out.write(frame);
  return {
    undo() {
      out.write('\x1b[?25h\x1b[?1049l');
    },
  };
}
