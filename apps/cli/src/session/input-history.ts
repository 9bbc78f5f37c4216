import { mkdir, open, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { writeFileAtomic } from '@shammah/config';

/** Most entries history.txt keeps, as the original did. */
export const HISTORY_LIMIT = 1000;

const HEADER = '#V2';

function escapeEntry(entry: string): string {
  return entry.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function unescapeEntry(line: string): string {
  return line.replace(/\\(\\|n)/g, (_match, char: string) => (char === 'n' ? '\n' : '\\'));
}

/** Reads history file text: one entry a line, multi-line entries escaped after a `#V2` header. */
export function parseHistory(text: string): string[] {
  const lines = text.split('\n');
  if (lines.at(-1) === '') lines.pop();
  if (lines[0] === HEADER) return lines.slice(1).map(unescapeEntry);
  // The original's plain format: one entry a line, nothing escaped.
  return lines.filter((line) => line.trim() !== '');
}

/**
 * The REPL's input history in `history.txt`, kept across runs: the last {@link HISTORY_LIMIT}
 * entries, newest last. Entries are appended with one write each (O_APPEND), so two REPLs open at
 * once never interleave half lines; the file is compacted when it grows past the limit.
 */
export class InputHistory {
  readonly path: string;
  readonly limit: number;
  #entries: string[];

  private constructor(path: string, entries: string[], limit: number) {
    this.path = path;
    this.#entries = entries;
    this.limit = limit;
  }

  /** Reads the history (a missing file is an empty history) and compacts it when needed. */
  static async open(path: string, limit = HISTORY_LIMIT): Promise<InputHistory> {
    let text = '';
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const entries = parseHistory(text);
    const history = new InputHistory(path, entries.slice(-limit), limit);
    if (!text.startsWith(`${HEADER}\n`) || entries.length > limit) await history.#rewrite();
    return history;
  }

  /** Oldest first. */
  get entries(): readonly string[] {
    return this.#entries;
  }

  /** Adds an entry (a repeat of the newest one is not added twice). */
  async add(entry: string): Promise<void> {
    if (entry.trim() === '' || this.#entries.at(-1) === entry) return;
    this.#entries.push(entry);
    await mkdir(dirname(this.path), { recursive: true });
    // The header was written when the history was opened, so every add is one whole line.
    const handle = await open(this.path, 'a', 0o600);
    try {
      await handle.write(`${escapeEntry(entry)}\n`);
    } finally {
      await handle.close();
    }
    if (this.#entries.length > this.limit * 1.1) {
      this.#entries = this.#entries.slice(-this.limit);
      await this.#rewrite();
    }
  }

  async #rewrite(): Promise<void> {
    const body = this.#entries.map((entry) => `${escapeEntry(entry)}\n`).join('');
    await writeFileAtomic(this.path, `${HEADER}\n${body}`, 0o600);
  }
}
