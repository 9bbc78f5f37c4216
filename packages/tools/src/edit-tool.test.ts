import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createEditTool } from './edit-tool.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';

describe('Edit', () => {
  const edit = createEditTool();

  it('replaces one exact occurrence, keeps the mode and shows the result', async () => {
    const root = await tempDirectory();
    const file = path.join(root, 'lib.py');
    await writeFile(file, 'def add(a, b):\n    return a - b\n\nprint(add(1, 2))\n');
    await chmod(file, 0o600);
    const result = await edit.execute(
      { file_path: 'lib.py', old_string: 'return a - b', new_string: 'return a + b' },
      contextFor(root),
    );
    expect(await readFile(file, 'utf8')).toBe('def add(a, b):\n    return a + b\n\nprint(add(1, 2))\n');
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    expect(result.data).toEqual({ path: file, replacements: 1, firstLine: 2 });
    expect(result.text).toContain('     2\t    return a + b');
  });

  it('fails clearly when the text is absent, pointing at a whitespace-only difference', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'a.ts': 'function f() {\n\treturn 1;\n}\n' });
    await expect(
      edit.execute(
        { file_path: 'a.ts', old_string: 'function f() {\n  return 1;', new_string: 'x' },
        contextFor(root),
      ),
    ).rejects.toMatchObject({
      code: 'edit_no_match',
      message: expect.stringContaining('apart from whitespace starts at line 1'),
    });
    await expect(
      edit.execute({ file_path: 'a.ts', old_string: 'nowhere', new_string: 'x' }, contextFor(root)),
    ).rejects.toMatchObject({ code: 'edit_no_match', message: expect.stringContaining('Read the file') });
    expect(await readFile(path.join(root, 'a.ts'), 'utf8')).toBe('function f() {\n\treturn 1;\n}\n');
  });

  it('refuses an ambiguous edit unless replace_all is set', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'c.txt': 'foo\nbar\nfoo\nfoo $& $1\n' });
    await expect(
      edit.execute({ file_path: 'c.txt', old_string: 'foo', new_string: 'baz' }, contextFor(root)),
    ).rejects.toThrow('old_string occurs 3 times in c.txt (lines 1, 3, 4).');
    const result = await edit.execute(
      { file_path: 'c.txt', old_string: 'foo', new_string: '$&-$1', replace_all: true },
      contextFor(root),
    );
    expect(result.data?.replacements).toBe(3);
    expect(await readFile(path.join(root, 'c.txt'), 'utf8')).toBe('$&-$1\nbar\n$&-$1\n$&-$1 $& $1\n');
  });

  it('edits CRLF files with LF text and keeps them CRLF', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'win.txt': 'one\r\ntwo\r\nthree\r\n' });
    await edit.execute(
      { file_path: 'win.txt', old_string: 'one\ntwo', new_string: 'uno\ndos' },
      contextFor(root),
    );
    expect(await readFile(path.join(root, 'win.txt'), 'utf8')).toBe('uno\r\ndos\r\nthree\r\n');
  });

  it('rejects missing files, no-op edits and binaries', async () => {
    const root = await tempDirectory();
    await writeFiles(root, { 'a.txt': 'x', 'b.bin': new Uint8Array([0, 1, 2]) });
    await expect(
      edit.execute({ file_path: 'nope.txt', old_string: 'a', new_string: 'b' }, contextFor(root)),
    ).rejects.toThrow('nope.txt does not exist. Use Write to create it.');
    await expect(
      edit.execute({ file_path: 'a.txt', old_string: 'x', new_string: 'x' }, contextFor(root)),
    ).rejects.toMatchObject({
      code: 'edit_no_change',
    });
    await expect(
      edit.execute({ file_path: 'b.bin', old_string: 'a', new_string: 'b' }, contextFor(root)),
    ).rejects.toMatchObject({
      code: 'binary_file',
    });
  });
});
