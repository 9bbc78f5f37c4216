import { describe, expect, it } from 'vitest';
import { truncateText } from './truncate.js';

describe('truncateText', () => {
  it('leaves short text alone', () => {
    expect(truncateText('hello', { maxChars: 10 })).toEqual({
      text: 'hello',
      truncated: false,
      omittedChars: 0,
    });
  });

  it('keeps the head, stays within the limit and says how much was left out', () => {
    const text = 'x'.repeat(5000);
    const result = truncateText(text, { maxChars: 1000, hint: 'Use offset to read more.' });
    expect(result.truncated).toBe(true);
    expect(result.text.length).toBeLessThanOrEqual(1000);
    expect(result.text).toMatch(
      /\[… truncated: [\d,]+ of 5,000 characters omitted\. Use offset to read more\.\]$/,
    );
    expect(result.text.startsWith('x'.repeat(100))).toBe(true);
    expect(result.omittedChars + result.text.indexOf('\n\n[')).toBe(5000);
  });

  it('never cuts inside a surrogate pair, a combining sequence or an emoji sequence', () => {
    const family = '👨‍👩‍👧‍👦'; // 11 UTF-16 units, one grapheme
    const accented = 'e\u0301'; // é as e + combining acute
    for (const unit of [family, accented, '😀']) {
      const text = unit.repeat(400);
      for (let maxChars = 150; maxChars < 190; maxChars++) {
        const { text: cut } = truncateText(text, { maxChars });
        const kept = cut.slice(0, cut.indexOf('\n\n['));
        expect(kept.length % unit.length).toBe(0);
        expect(cut.length).toBeLessThanOrEqual(maxChars);
      }
    }
  });

  it('keeps head and tail for command output, where errors come last', () => {
    const text = `${'start '.repeat(500)}MIDDLE${' end'.repeat(500)}ERROR: build failed`;
    const result = truncateText(text, { maxChars: 600, mode: 'head-and-tail' });
    expect(result.text.length).toBeLessThanOrEqual(600);
    expect(result.text.startsWith('start start')).toBe(true);
    expect(result.text.endsWith('ERROR: build failed')).toBe(true);
    expect(result.text).not.toContain('MIDDLE');
    expect(result.text).toMatch(/characters omitted here/);
  });
});
