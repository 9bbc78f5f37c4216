/** Where the text cursor is: line and column (in UTF-16 code units). */
export interface Cursor {
  line: number;
  column: number;
}

/**
 * The multi-line input's text and cursor, with shell-like editing and history browsing. Knows
 * nothing of terminals, so it is tested on its own; the TUI maps keys to these methods.
 */
export class InputEditor {
  #lines: string[] = [''];
  #cursor: Cursor = { line: 0, column: 0 };
  #history: readonly string[] = [];
  /** Index into the history while browsing it; `history.length` means the draft. */
  #historyIndex = 0;
  #draft = '';

  /** The whole text. */
  get value(): string {
    return this.#lines.join('\n');
  }

  get lines(): readonly string[] {
    return this.#lines;
  }

  get cursor(): Readonly<Cursor> {
    return this.#cursor;
  }

  /** Replaces the text and puts the cursor at its end. */
  setValue(text: string): void {
    this.#lines = text.split('\n');
    const last = this.#lines.length - 1;
    this.#cursor = { line: last, column: this.#lines[last]!.length };
  }

  /** Empties the input and stops browsing history. */
  clear(): void {
    this.setValue('');
    this.#historyIndex = this.#history.length;
    this.#draft = '';
  }

  /** The entries Up and Down browse, oldest first. */
  setHistory(entries: readonly string[]): void {
    this.#history = entries;
    this.#historyIndex = entries.length;
  }

  /** Inserts text (a key or a paste) at the cursor; new lines in it split the line. */
  insert(text: string): void {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    const pieces = text.replace(/\r\n?/g, '\n').replace(/\t/g, '  ').split('\n');
    const before = current.slice(0, column);
    const after = current.slice(column);
    if (pieces.length === 1) {
      this.#lines[line] = before + pieces[0] + after;
      this.#cursor = { line, column: column + pieces[0]!.length };
      return;
    }
    const inserted = [before + pieces[0], ...pieces.slice(1, -1), pieces.at(-1)! + after];
    this.#lines.splice(line, 1, ...inserted);
    this.#cursor = { line: line + pieces.length - 1, column: pieces.at(-1)!.length };
  }

  /** Breaks the line at the cursor. */
  newline(): void {
    this.insert('\n');
  }

  /**
   * What Enter does: a line ending in a backslash continues on a new line (the backslash is
   * dropped); otherwise returns the text to send (undefined when there is nothing to send).
   */
  submit(): string | undefined {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    if (column === current.length && current.endsWith('\\')) {
      this.#lines[line] = current.slice(0, -1);
      this.#cursor = { line, column: column - 1 };
      this.newline();
      return undefined;
    }
    const text = this.value;
    if (text.trim() === '') return undefined;
    return text;
  }

  backspace(): void {
    const { line, column } = this.#cursor;
    if (column > 0) {
      const current = this.#lines[line]!;
      const size = charSizeBefore(current, column);
      this.#lines[line] = current.slice(0, column - size) + current.slice(column);
      this.#cursor = { line, column: column - size };
    } else if (line > 0) {
      const previous = this.#lines[line - 1]!;
      this.#lines.splice(line - 1, 2, previous + this.#lines[line]!);
      this.#cursor = { line: line - 1, column: previous.length };
    }
  }

  delete(): void {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    if (column < current.length) {
      const size = charSizeAt(current, column);
      this.#lines[line] = current.slice(0, column) + current.slice(column + size);
    } else if (line < this.#lines.length - 1) {
      this.#lines.splice(line, 2, current + this.#lines[line + 1]!);
    }
  }

  left(): void {
    const { line, column } = this.#cursor;
    if (column > 0) this.#cursor = { line, column: column - charSizeBefore(this.#lines[line]!, column) };
    else if (line > 0) this.#cursor = { line: line - 1, column: this.#lines[line - 1]!.length };
  }

  right(): void {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    if (column < current.length) this.#cursor = { line, column: column + charSizeAt(current, column) };
    else if (line < this.#lines.length - 1) this.#cursor = { line: line + 1, column: 0 };
  }

  /** Up: the line above, or the previous history entry from the first line. */
  up(): void {
    const { line, column } = this.#cursor;
    if (line > 0) {
      this.#cursor = { line: line - 1, column: Math.min(column, this.#lines[line - 1]!.length) };
      return;
    }
    this.historyPrevious();
  }

  /** Down: the line below, or the next history entry from the last line. */
  down(): void {
    const { line, column } = this.#cursor;
    if (line < this.#lines.length - 1) {
      this.#cursor = { line: line + 1, column: Math.min(column, this.#lines[line + 1]!.length) };
      return;
    }
    this.historyNext();
  }

  historyPrevious(): void {
    if (this.#historyIndex === 0) return;
    if (this.#historyIndex === this.#history.length) this.#draft = this.value;
    this.#historyIndex--;
    this.setValue(this.#history[this.#historyIndex]!);
  }

  historyNext(): void {
    if (this.#historyIndex >= this.#history.length) return;
    this.#historyIndex++;
    this.setValue(
      this.#historyIndex === this.#history.length ? this.#draft : this.#history[this.#historyIndex]!,
    );
  }

  home(): void {
    this.#cursor = { line: this.#cursor.line, column: 0 };
  }

  end(): void {
    this.#cursor = { line: this.#cursor.line, column: this.#lines[this.#cursor.line]!.length };
  }

  wordLeft(): void {
    const { line, column } = this.#cursor;
    if (column === 0) {
      this.left();
      return;
    }
    const before = this.#lines[line]!.slice(0, column);
    const match = /\S+\s*$|\s+$/.exec(before);
    this.#cursor = { line, column: column - (match ? match[0].length : column) };
  }

  wordRight(): void {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    if (column === current.length) {
      this.right();
      return;
    }
    const match = /^\s*\S+/.exec(current.slice(column));
    this.#cursor = { line, column: column + (match ? match[0].length : current.length - column) };
  }

  /** Ctrl+W: deletes the word before the cursor. */
  deleteWordBefore(): void {
    const { line, column } = this.#cursor;
    if (column === 0) {
      this.backspace();
      return;
    }
    const current = this.#lines[line]!;
    const match = /\S+\s*$|\s+$/.exec(current.slice(0, column));
    const start = column - (match ? match[0].length : column);
    this.#lines[line] = current.slice(0, start) + current.slice(column);
    this.#cursor = { line, column: start };
  }

  /** Ctrl+U: deletes from the start of the line to the cursor. */
  deleteToLineStart(): void {
    const { line, column } = this.#cursor;
    this.#lines[line] = this.#lines[line]!.slice(column);
    this.#cursor = { line, column: 0 };
  }

  /** Ctrl+K: deletes from the cursor to the end of the line. */
  deleteToLineEnd(): void {
    const { line, column } = this.#cursor;
    const current = this.#lines[line]!;
    if (column === current.length) {
      this.delete();
      return;
    }
    this.#lines[line] = current.slice(0, column);
  }
}

function charSizeBefore(text: string, column: number): number {
  const code = text.charCodeAt(column - 1);
  return code >= 0xdc00 && code <= 0xdfff && column >= 2 ? 2 : 1;
}

function charSizeAt(text: string, column: number): number {
  const code = text.charCodeAt(column);
  return code >= 0xd800 && code <= 0xdbff && column + 1 < text.length ? 2 : 1;
}
