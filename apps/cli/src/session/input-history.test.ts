import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { InputHistory, parseHistory } from './input-history.js';

describe('InputHistory', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'shammah-history-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('keeps entries across opens, multi-line ones included, without repeating the newest', async () => {
    const path = join(dir, 'history.txt');
    const first = await InputHistory.open(path);
    await first.add('one');
    await first.add('two\nlines with a \\ backslash');
    await first.add('two\nlines with a \\ backslash');
    const second = await InputHistory.open(path);
    expect(second.entries).toEqual(['one', 'two\nlines with a \\ backslash']);
    expect(await readFile(path, 'utf8')).toBe('#V2\none\ntwo\\nlines with a \\\\ backslash\n');
  });

  it("reads the original's plain file and keeps only the last 1,000 entries", async () => {
    const path = join(dir, 'history.txt');
    await writeFile(path, `${Array.from({ length: 1200 }, (_, index) => `entry ${index}`).join('\n')}\n`);
    const history = await InputHistory.open(path);
    expect(history.entries).toHaveLength(1000);
    expect(history.entries[0]).toBe('entry 200');
    expect(parseHistory(await readFile(path, 'utf8'))).toEqual(history.entries);
  });

  it('never tears lines when two REPLs add at once', async () => {
    const path = join(dir, 'history.txt');
    const [a, b] = await Promise.all([InputHistory.open(path), InputHistory.open(path)]);
    await Promise.all(
      Array.from({ length: 50 }, (_, index) =>
        (index % 2 ? a : b).add(`question ${index} ${'x'.repeat(200)}`),
      ),
    );
    const entries = parseHistory(await readFile(path, 'utf8'));
    expect(entries.filter((entry) => entry.startsWith('#')).length).toBeLessThanOrEqual(1);
    expect(entries.filter((entry) => /^question \d+ x{200}$/.test(entry))).toHaveLength(50);
  });
});
