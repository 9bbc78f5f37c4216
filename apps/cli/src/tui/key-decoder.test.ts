import { describe, expect, it } from 'vitest';
import { KeyDecoder } from './key-decoder.js';

const decode = (...chunks: string[]) => {
  const decoder = new KeyDecoder();
  return [...chunks.flatMap((chunk) => decoder.push(chunk)), ...decoder.flush()];
};

describe('KeyDecoder', () => {
  it('tells Enter from the new-line keys terminals send', () => {
    expect(decode('\r')).toEqual([{ name: 'enter' }]);
    expect(decode('\n')).toEqual([{ name: 'enter', ctrl: true }]); // Ctrl+J
    expect(decode('\x1b\r')).toEqual([{ name: 'enter', meta: true }]); // Alt+Enter
    expect(decode('\x1b[13;2u')).toEqual([{ name: 'enter', shift: true }]); // kitty Shift+Enter
    expect(decode('\x1b[27;2;13~')).toEqual([{ name: 'enter', shift: true }]); // xterm modifyOtherKeys
  });

  it('reads printable runs as one event and control keys by name', () => {
    expect(decode('héllo wörld')).toEqual([{ name: 'char', text: 'héllo wörld' }]);
    expect(decode('ab\x03c')).toEqual([
      { name: 'char', text: 'ab' },
      { name: 'c', ctrl: true },
      { name: 'char', text: 'c' },
    ]);
    expect(decode('\x7f', '\t', '\x1b[Z')).toEqual([
      { name: 'backspace' },
      { name: 'tab' },
      { name: 'tab', shift: true },
    ]);
  });

  it('reads arrows, editing keys and their modifiers', () => {
    expect(decode('\x1b[A\x1b[B\x1bOC\x1b[D')).toEqual([
      { name: 'up' },
      { name: 'down' },
      { name: 'right' },
      { name: 'left' },
    ]);
    expect(decode('\x1b[1;5D')).toEqual([{ name: 'left', ctrl: true }]);
    expect(decode('\x1b[1;2A')).toEqual([{ name: 'up', shift: true }]);
    expect(decode('\x1b[3~\x1b[5~\x1b[6~\x1b[H\x1b[4~')).toEqual([
      { name: 'delete' },
      { name: 'pageup' },
      { name: 'pagedown' },
      { name: 'home' },
      { name: 'end' },
    ]);
    expect(decode('\x1bb\x1b\x7f')).toEqual([
      { name: 'b', meta: true },
      { name: 'backspace', meta: true },
    ]);
    expect(decode('\x1b[99;5u')).toEqual([{ name: 'c', ctrl: true }]); // kitty Ctrl+C
  });

  it('takes a bracketed paste as text, new lines included, even split over reads', () => {
    expect(decode('\x1b[200~line one\r\nline two\x1b[201~x')).toEqual([
      { name: 'paste', text: 'line one\nline two' },
      { name: 'char', text: 'x' },
    ]);
    expect(decode('\x1b[200~a\rb', 'c\x1b[2', '01~')).toEqual([{ name: 'paste', text: 'a\nbc' }]);
  });

  it('waits for the rest of a split sequence, and a lone Escape is Escape', () => {
    const decoder = new KeyDecoder();
    expect(decoder.push('\x1b[')).toEqual([]);
    expect(decoder.push('A')).toEqual([{ name: 'up' }]);
    expect(decoder.push('\x1b')).toEqual([]);
    expect(decoder.flush()).toEqual([{ name: 'escape' }]);
  });
});
