import { describe, expect, it } from 'vitest';
import { InputEditor } from './input-editor.js';

function typed(text: string): InputEditor {
  const editor = new InputEditor();
  editor.insert(text);
  return editor;
}

describe('InputEditor', () => {
  it('edits within and across lines', () => {
    const editor = typed('hello world');
    editor.wordLeft();
    editor.insert('big ');
    expect(editor.value).toBe('hello big world');
    editor.newline();
    expect(editor.lines).toEqual(['hello big ', 'world']);
    expect(editor.cursor).toEqual({ line: 1, column: 0 });
    editor.backspace();
    expect(editor.value).toBe('hello big world');
    editor.end();
    editor.deleteWordBefore();
    expect(editor.value).toBe('hello big ');
    editor.home();
    editor.deleteToLineEnd();
    expect(editor.value).toBe('');
  });

  it('sends on Enter, and a trailing backslash continues on a new line instead', () => {
    const editor = typed('first\\');
    expect(editor.submit()).toBeUndefined();
    expect(editor.lines).toEqual(['first', '']);
    editor.insert('second');
    expect(editor.submit()).toBe('first\nsecond');
    expect(typed('   ').submit()).toBeUndefined();
  });

  it('inserts pasted text with its lines, and moves by whole characters', () => {
    const editor = typed('a😀b');
    editor.left();
    editor.left();
    expect(editor.cursor.column).toBe(1);
    editor.insert('x\ny');
    expect(editor.lines).toEqual(['ax', 'y😀b']);
    editor.end();
    editor.backspace();
    editor.backspace();
    expect(editor.value).toBe('ax\ny');
  });

  it('browses history from the first and last lines, and keeps the draft', () => {
    const editor = typed('draft');
    editor.setHistory(['one', 'two\nlines']);
    editor.up();
    expect(editor.value).toBe('two\nlines');
    // Up inside a multi-line entry moves between its lines first.
    editor.up();
    expect(editor.cursor.line).toBe(0);
    expect(editor.value).toBe('two\nlines');
    editor.up();
    expect(editor.value).toBe('one');
    editor.up();
    expect(editor.value).toBe('one');
    editor.down();
    editor.down();
    editor.down();
    expect(editor.value).toBe('draft');
  });
});
