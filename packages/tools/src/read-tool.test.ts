import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createReadTool } from './read-tool.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';

describe('Read', () => {
  const read = createReadTool();

  it('shows a file with line numbers', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'src/main.rs': 'fn main() {\r\n    println!("hi");\r\n}\n' });
    const result = await read.execute({ file_path: 'src/main.rs' }, contextFor(root));
    expect(result.text).toBe('     1\tfn main() {\n     2\t    println!("hi");\n     3\t}');
    expect(result.data).toMatchObject({ startLine: 1, endLine: 3, totalLines: 3, truncated: false });
  });

  it('reads a window of a large file and says how to go on', async () => {
    const root = await tempDirectory();
    const lines = Array.from({ length: 5000 }, (_, index) => `line ${index + 1}`);
    await writeFiles(root, { 'big.txt': `${lines.join('\n')}\n` });
    const window = await read.execute({ file_path: 'big.txt', offset: 100, limit: 3 }, contextFor(root));
    expect(window.text.split('\n').slice(0, 3)).toEqual([
      '   100\tline 100',
      '   101\tline 101',
      '   102\tline 102',
    ]);
    expect(window.text).toContain('Showing lines 100-102 of 5000. Read again with offset 103 to continue.');

    const small = createReadTool({ maxChars: 500 });
    const budget = await small.execute({ file_path: 'big.txt' }, contextFor(root));
    expect(budget.text.length).toBeLessThan(700);
    const shown = budget.data!.endLine;
    expect(budget.text).toContain(`Read again with offset ${shown + 1} to continue.`);
  });

  it('cuts very long lines', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'min.js': `${'a'.repeat(10_000)}\n` });
    const result = await createReadTool({ maxLineLength: 100 }).execute(
      { file_path: 'min.js' },
      contextFor(root),
    );
    expect(result.text).toBe(`     1\t${'a'.repeat(100)}… [line cut]`);
  });

  it('refuses directories and binary files with a message saying what to do', async () => {
    const root = await tempDirectory();
    await mkdir(path.join(root, 'src'));
    await writeFile(
      path.join(root, 'logo.png'),
      Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0]),
    );
    await writeFile(path.join(root, 'data.bin'), Buffer.from([1, 2, 0, 4, 5]));
    await expect(read.execute({ file_path: 'src' }, contextFor(root))).rejects.toMatchObject({
      code: 'not_a_file',
      message: expect.stringContaining('Use Glob'),
    });
    await expect(read.execute({ file_path: 'logo.png' }, contextFor(root))).rejects.toMatchObject({
      code: 'binary_file',
      message: expect.stringContaining('PNG image'),
    });
    await expect(read.execute({ file_path: 'data.bin' }, contextFor(root))).rejects.toMatchObject({
      code: 'binary_file',
    });
  });

  it('suggests similar names for a missing file', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'src/main.ts': 'x' });
    await expect(read.execute({ file_path: 'src/main.js' }, contextFor(root))).rejects.toMatchObject({
      code: 'file_not_found',
      message: 'File not found: src/main.js. Did you mean src/main.ts?',
    });
  });

  it('reports an offset past the end and empty files plainly', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'short.txt': 'a\nb\n', 'empty.txt': '' });
    await expect(read.execute({ file_path: 'short.txt', offset: 10 }, contextFor(root))).rejects.toThrow(
      'short.txt has only 2 lines; offset 10 is past its end.',
    );
    expect((await read.execute({ file_path: 'empty.txt' }, contextFor(root))).text).toBe(
      'empty.txt is empty.',
    );
  });
});
