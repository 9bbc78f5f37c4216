import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { drawInstantFrame } from './instant-frame.js';

function terminal(columns: number, rows: number) {
  let written = '';
  const out = new Writable({
    write(chunk, _encoding, done) {
      written += chunk.toString();
      done();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(out, { columns, rows });
  return { out, written: () => written };
}

describe('drawInstantFrame', () => {
  it('draws the input box and the status bar at the bottom of the alternate screen, cursor hidden', () => {
    const { out, written } = terminal(40, 12);
    drawInstantFrame(out);
    const text = written();
    expect(text.startsWith('\x1b[?1049h\x1b[?25l\x1b[H\x1b[2J')).toBe(true);
    const plain = text.replace(/\x1b\[[\d;?]*[A-Za-z]/g, '');
    expect(plain).toContain(`┌${'─'.repeat(38)}┐`);
    expect(plain).toContain('│›  starting…');
    expect(plain).toContain(' ● starting…');
    // Each line of the frame is placed by row, at the bottom of the screen.
    expect(text).toContain('\x1b[9;1H');
    expect(text).toContain('\x1b[12;1H');
  });

  it('can be undone, for a REPL that fails to start', () => {
    const { out, written } = terminal(80, 24);
    drawInstantFrame(out).undo();
    expect(written().endsWith('\x1b[?25h\x1b[?1049l')).toBe(true);
  });
});
