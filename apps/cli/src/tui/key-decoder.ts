/** One key press (or one paste) read from the terminal. */
export interface KeyEvent {
  /**
   * `char` (printable text in `text`), `paste` (bracketed paste in `text`), `enter`, `tab`,
   * `backspace`, `delete`, `escape`, `up`, `down`, `left`, `right`, `home`, `end`, `pageup`,
   * `pagedown`, or a letter with `ctrl`/`meta` set (`c` with ctrl for Ctrl+C).
   */
  name: string;
  text?: string;
  ctrl?: boolean;
  meta?: boolean;
  shift?: boolean;
}

const PASTE_START = '\x1b[200~';
const PASTE_END = '\x1b[201~';

const csiNames: Record<string, string> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  Z: 'tab',
  '1~': 'home',
  '7~': 'home',
  '4~': 'end',
  '8~': 'end',
  '2~': 'insert',
  '3~': 'delete',
  '5~': 'pageup',
  '6~': 'pagedown',
};

const ss3Names: Record<string, string> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  M: 'enter',
};

/** xterm's modifier parameter: 1 + (shift 1, alt 2, ctrl 4, meta 8). */
function modifiers(parameter: number | undefined): Pick<KeyEvent, 'ctrl' | 'meta' | 'shift'> {
  const bits = (parameter ?? 1) - 1;
  return {
    ...(bits & 1 ? { shift: true } : {}),
    ...(bits & 10 ? { meta: true } : {}),
    ...(bits & 4 ? { ctrl: true } : {}),
  };
}

/** A key given by its code point (kitty's CSI u, xterm's modifyOtherKeys). */
function keyFromCodePoint(code: number, modifier: number | undefined): KeyEvent {
  const flags = modifiers(modifier);
  if (code === 13) return { name: 'enter', ...flags };
  if (code === 9) return { name: 'tab', ...flags };
  if (code === 27) return { name: 'escape', ...flags };
  if (code === 127 || code === 8) return { name: 'backspace', ...flags };
  const char = String.fromCodePoint(code);
  if (flags.ctrl || flags.meta) return { name: char.toLowerCase(), ...flags };
  return { name: 'char', text: flags.shift ? char.toUpperCase() : char };
}

function decodeCsi(body: string): KeyEvent | undefined {
  const final = body.at(-1)!;
  const params = body.slice(0, -1);
  const numbers = params.split(';').map((part) => Number.parseInt(part.split(':')[0]!, 10));
  if (final === 'u') return keyFromCodePoint(numbers[0] ?? 0, numbers[1]);
  if (final === '~' && numbers[0] === 27 && numbers.length >= 3) {
    return keyFromCodePoint(numbers[2]!, numbers[1]);
  }
  if (final === 'Z') return { name: 'tab', shift: true };
  if (final === '~') {
    const name = csiNames[`${numbers[0]}~`];
    return name ? { name, ...modifiers(numbers[1]) } : undefined;
  }
  const name = csiNames[final];
  if (!name) return undefined;
  return { name, ...modifiers(numbers.length > 1 ? numbers[1] : undefined) };
}

/**
 * Turns raw terminal input into key events. Understands the sequences common terminals send:
 * Shift+Enter as kitty's `CSI 13;2 u` or xterm's `CSI 27;2;13 ~`, Alt+Enter as `ESC CR`, Ctrl+J as
 * a bare line feed, bracketed paste (which may arrive split over several reads), arrows with
 * modifiers, and Alt+letter as `ESC letter`.
 */
export class KeyDecoder {
  #paste: string | undefined;
  #pending = '';

  /** Decodes one chunk of input. */
  push(chunk: string): KeyEvent[] {
    const events: KeyEvent[] = [];
    let input = this.#pending + chunk;
    this.#pending = '';
    while (input.length > 0) {
      if (this.#paste !== undefined) {
        const end = input.indexOf(PASTE_END);
        if (end < 0) {
          // Keep a possible partial end marker for the next chunk.
          const keep = partialSuffix(input, PASTE_END);
          this.#paste += input.slice(0, input.length - keep);
          this.#pending = input.slice(input.length - keep);
          return events;
        }
        this.#paste += input.slice(0, end);
        events.push({ name: 'paste', text: this.#paste.replace(/\r\n?/g, '\n') });
        this.#paste = undefined;
        input = input.slice(end + PASTE_END.length);
        continue;
      }
      if (input.startsWith(PASTE_START)) {
        this.#paste = '';
        input = input.slice(PASTE_START.length);
        continue;
      }
      const [event, length] = this.#next(input);
      if (length === 0) {
        this.#pending = input;
        return events;
      }
      if (event) events.push(event);
      input = input.slice(length);
    }
    return events;
  }

  /** Input held back because it might be the start of a longer sequence, as key events. */
  flush(): KeyEvent[] {
    const pending = this.#pending;
    this.#pending = '';
    if (pending === '') return [];
    if (pending === '\x1b') return [{ name: 'escape' }];
    return [{ name: 'char', text: pending.replace(/\x1b/g, '') }].filter((event) => event.text !== '');
  }

  /** The first event in `input` and how many characters it used; 0 means "wait for more". */
  #next(input: string): [KeyEvent | undefined, number] {
    const first = input[0]!;
    if (first === '\x1b') {
      if (input.length === 1) return [undefined, 0];
      const second = input[1]!;
      if (second === '[') {
        // CSI: parameters and intermediates, then a final byte in @–~.
        const match = /^\x1b\[([0-9;:?<=>]*[ -/]*[@-~])/.exec(input);
        if (!match) return /^\x1b\[[0-9;:?<=>]*$/.test(input) ? [undefined, 0] : [{ name: 'escape' }, 1];
        return [decodeCsi(match[1]!), match[0].length];
      }
      if (second === 'O') {
        if (input.length < 3) return [undefined, 0];
        const name = ss3Names[input[2]!];
        return [name ? { name } : undefined, 3];
      }
      if (second === '\r' || second === '\n') return [{ name: 'enter', meta: true }, 2];
      if (second === '\x7f' || second === '\b') return [{ name: 'backspace', meta: true }, 2];
      if (second === '\x1b') return [{ name: 'escape' }, 1];
      if (second.charCodeAt(0) >= 0x20) {
        const char = String.fromCodePoint(input.codePointAt(1)!);
        return [{ name: char.toLowerCase(), meta: true }, 1 + char.length];
      }
      const [inner, length] = this.#next(input.slice(1));
      if (length === 0) return [undefined, 0];
      return [inner ? { ...inner, meta: true } : undefined, 1 + length];
    }
    if (first === '\r') return [{ name: 'enter' }, 1];
    if (first === '\n') return [{ name: 'enter', ctrl: true }, 1];
    if (first === '\t') return [{ name: 'tab' }, 1];
    if (first === '\x7f' || first === '\b') return [{ name: 'backspace' }, 1];
    if (first === '\0') return [{ name: 'space', ctrl: true }, 1];
    const code = first.charCodeAt(0);
    if (code < 0x20) return [{ name: String.fromCharCode(code + 96), ctrl: true }, 1];
    // Printable text up to the next control character comes as one event.
    const match = /^[^\x00-\x1f\x7f]+/.exec(input)!;
    return [{ name: 'char', text: match[0] }, match[0].length];
  }
}

/** Length of the longest suffix of `text` that is a proper prefix of `marker`. */
function partialSuffix(text: string, marker: string): number {
  for (let length = Math.min(marker.length - 1, text.length); length > 0; length--) {
    if (marker.startsWith(text.slice(text.length - length))) return length;
  }
  return 0;
}
