import { chmod, mkdir, readdir, readFile, readlink, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { contextFor, tempDirectory } from './test-support/temp-project.js';
import { createWriteTool } from './write-tool.js';

describe('Write', () => {
  const write = createWriteTool();

  it('creates a file and its parent directories', async () => {
    const root = await tempDirectory();
    const result = await write.execute({ file_path: 'src/deep/new.ts', content: 'a\nb\n' }, contextFor(root));
    expect(result.text).toBe('Created src/deep/new.ts (2 lines, 4 bytes).');
    expect(result.data).toEqual({ path: path.join(root, 'src/deep/new.ts'), created: true, bytes: 4 });
    expect(await readFile(path.join(root, 'src/deep/new.ts'), 'utf8')).toBe('a\nb\n');
  });

  it('overwrites atomically, keeps the mode and leaves no temporary file', async () => {
    const root = await tempDirectory();
    const file = path.join(root, 'run.sh');
    await writeFile(file, 'old');
    await chmod(file, 0o750);
    const result = await write.execute(
      { file_path: file, content: '#!/bin/sh\necho new\n' },
      contextFor(root),
    );
    expect(result.text).toMatch(/^Overwrote run\.sh/);
    expect((await stat(file)).mode & 0o777).toBe(0o750);
    expect(await readFile(file, 'utf8')).toBe('#!/bin/sh\necho new\n');
    expect(await readdir(root)).toEqual(['run.sh']);
  });

  it('writes through a symbolic link to its target and keeps the link', async () => {
    const root = await tempDirectory();
    await writeFile(path.join(root, 'real.txt'), 'old');
    await symlink('real.txt', path.join(root, 'link.txt'));
    await write.execute({ file_path: 'link.txt', content: 'new' }, contextFor(root));
    expect(await readFile(path.join(root, 'real.txt'), 'utf8')).toBe('new');
    expect(await readlink(path.join(root, 'link.txt'))).toBe('real.txt');
  });

  it('refuses to overwrite a directory', async () => {
    const root = await tempDirectory();
    await mkdir(path.join(root, 'src'));
    await expect(write.execute({ file_path: 'src', content: 'x' }, contextFor(root))).rejects.toMatchObject({
      code: 'not_a_file',
    });
  });
});
