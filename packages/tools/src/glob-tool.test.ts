import { utimes } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGlobTool } from './glob-tool.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';

async function project() {
  const root = await tempDirectory();
  await writeFiles(root, {
    '.gitignore': 'dist/\n*.log\n!keep.log\n',
    'src/a.ts': '',
    'src/b.ts': '',
    'src/nested/c.ts': '',
    'src/nested/.gitignore': 'generated.ts\n',
    'src/nested/generated.ts': '',
    'dist/out.ts': '',
    'debug.log': '',
    'keep.log': '',
    '.github/workflow.ts': '',
  });
  const times: Record<string, number> = { 'src/a.ts': 1000, 'src/b.ts': 3000, 'src/nested/c.ts': 2000 };
  for (const [file, seconds] of Object.entries(times)) await utimes(path.join(root, file), seconds, seconds);
  return root;
}

describe('Glob', () => {
  const glob = createGlobTool();

  it('lists matches newest first, skipping what .gitignore files ignore', async () => {
    const root = await project();
    const result = await glob.execute({ pattern: '**/*.ts' }, contextFor(root));
    expect(result.text).toBe('src/b.ts\nsrc/nested/c.ts\nsrc/a.ts');
    expect(result.data?.files).toEqual([
      path.join(root, 'src/b.ts'),
      path.join(root, 'src/nested/c.ts'),
      path.join(root, 'src/a.ts'),
    ]);
    const logs = await glob.execute({ pattern: '*.log' }, contextFor(root));
    expect(logs.text).toBe('keep.log');
  });

  it('searches under a path, takes absolute patterns, and matches dot directories when asked', async () => {
    const root = await project();
    expect((await glob.execute({ pattern: '*.ts', path: 'src/nested' }, contextFor(root))).text).toBe(
      'src/nested/c.ts',
    );
    expect((await glob.execute({ pattern: `${root}/src/*.ts` }, contextFor(root))).data?.files).toHaveLength(
      2,
    );
    expect((await glob.execute({ pattern: '.github/*.ts' }, contextFor(root))).text).toBe(
      '.github/workflow.ts',
    );
  });

  it('caps the list and says so', async () => {
    const root = await tempDirectory();
    await writeFiles(
      root,
      Object.fromEntries(Array.from({ length: 30 }, (_, index) => [`f${index}.txt`, ''])),
    );
    const result = await createGlobTool({ maxResults: 10 }).execute({ pattern: '*.txt' }, contextFor(root));
    expect(result.data).toMatchObject({ totalMatches: 30, truncated: true });
    expect(result.data?.files).toHaveLength(10);
    expect(result.text).toContain('[Showing the 10 newest of 30 matches.');
  });

  it('explains empty results and bad paths', async () => {
    const root = await project();
    expect((await glob.execute({ pattern: '*.py' }, contextFor(root))).text).toBe(
      'No files match "*.py" in the working directory. To search subdirectories too, use "**/*.py".',
    );
    await expect(glob.execute({ pattern: '*', path: 'missing' }, contextFor(root))).rejects.toMatchObject({
      code: 'file_not_found',
    });
  });
});
