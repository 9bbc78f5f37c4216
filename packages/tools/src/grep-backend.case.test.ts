import { symlink } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { GrepBackend, GrepQuery } from './grep-backend.js';
import { tempDirectory, writeFiles } from './test-support/temp-project.js';

async function project(): Promise<string> {
  const root = await tempDirectory();
  await writeFiles(root, {
    '.gitignore': 'build/\n*.min.js\n',
    'src/app.ts':
      'import { a } from "./a";\n// TODO: remove\nexport const value = a + 1;\nconsole.log(value);\n',
    'src/a.ts': 'export const a = 1; // todo later\n',
    'src/util/deep.py': 'def helper():\n    # TODO python\n    return 42\n',
    'src/util/.gitignore': 'secret.py\n',
    'src/util/secret.py': '# TODO hidden by nested gitignore\n',
    'build/out.js': '// TODO built\n',
    'vendor.min.js': '/* TODO minified */',
    '.hidden/notes.txt': 'TODO hidden dir\n',
    'bin/blob.dat': new Uint8Array([0x54, 0x4f, 0x44, 0x4f, 0x00, 0x01, 0x02]),
    'crlf.txt': 'first\r\nTODO crlf\r\nlast\r\n',
    'unicode.txt': 'café TODO ünïcödé\n',
  });
  return root;
}

function query(root: string, extra: Partial<GrepQuery>): GrepQuery {
  return {
    pattern: 'TODO',
    root,
    ignoreCase: false,
    contextLines: 0,
    mode: 'content',
    maxResults: 50,
    ...extra,
  };
}

function summary(root: string, result: Awaited<ReturnType<GrepBackend['search']>>) {
  return result.files.map((file) => ({
    file: path.relative(root, file.path),
    matchCount: file.matchCount,
    lines: file.lines.map((line) => `${line.lineNumber}${line.isMatch ? ':' : '-'}${line.text}`),
  }));
}

/**
 * The behaviour every grep backend shares: the ripgrep backend and the JavaScript fallback must give
 * the same results for the same query.
 */
export function runTest({ create }: { create: () => Promise<GrepBackend> }): void {
  describe('grep backend conformance', () => {
    it('finds matches in path order, honouring .gitignore files and skipping hidden and binary files', async () => {
      const root = await project();
      const backend = await create();
      const result = await backend.search(query(root, {}));
      expect(summary(root, result)).toEqual([
        { file: 'crlf.txt', matchCount: 1, lines: ['2:TODO crlf'] },
        { file: 'src/app.ts', matchCount: 1, lines: ['2:// TODO: remove'] },
        { file: 'src/util/deep.py', matchCount: 1, lines: ['2:    # TODO python'] },
        { file: 'unicode.txt', matchCount: 1, lines: ['1:café TODO ünïcödé'] },
      ]);
      expect(result.truncated).toBe(false);
    });

    it('ignores case, filters by glob and shows context lines', async () => {
      const root = await project();
      const backend = await create();
      const result = await backend.search(query(root, { ignoreCase: true, glob: '*.ts', contextLines: 1 }));
      expect(summary(root, result)).toEqual([
        { file: 'src/a.ts', matchCount: 1, lines: ['1:export const a = 1; // todo later'] },
        {
          file: 'src/app.ts',
          matchCount: 1,
          lines: ['1-import { a } from "./a";', '2:// TODO: remove', '3-export const value = a + 1;'],
        },
      ]);
      const excluded = await backend.search(query(root, { glob: '!*.txt' }));
      expect(summary(root, excluded).map((file) => file.file)).toEqual(['src/app.ts', 'src/util/deep.py']);
      // A glob narrows the search; it never brings back files that .gitignore ignores.
      const ignored = await backend.search(query(root, { glob: '*.js' }));
      expect(ignored.files).toEqual([]);
      const byPath = await backend.search(query(root, { glob: 'src/util/**' }));
      expect(summary(root, byPath).map((file) => file.file)).toEqual(['src/util/deep.py']);
    });

    it('merges overlapping context and caps results', async () => {
      const root = await tempDirectory();
      await writeFiles(root, { 'x.txt': 'a\nhit 1\nb\nhit 2\nc\nd\ne\nhit 3\nf\n' });
      const backend = await create();
      const result = await backend.search(query(root, { pattern: 'hit', contextLines: 1 }));
      expect(summary(root, result)[0]?.lines).toEqual([
        '1-a',
        '2:hit 1',
        '3-b',
        '4:hit 2',
        '5-c',
        '7-e',
        '8:hit 3',
        '9-f',
      ]);
      const capped = await backend.search(query(root, { pattern: 'hit', maxResults: 2 }));
      expect(capped.truncated).toBe(true);
      expect(summary(root, capped)[0]?.lines).toEqual(['2:hit 1', '4:hit 2']);
    });

    it('lists files and counts matching lines', async () => {
      const root = await project();
      const backend = await create();
      const files = await backend.search(query(root, { mode: 'files', ignoreCase: true }));
      expect(summary(root, files).map((file) => file.file)).toEqual([
        'crlf.txt',
        'src/a.ts',
        'src/app.ts',
        'src/util/deep.py',
        'unicode.txt',
      ]);
      const counts = await backend.search(query(root, { mode: 'count', pattern: 'a' }));
      expect(summary(root, counts).find((file) => file.file === 'src/app.ts')?.matchCount).toBe(3);
      const capped = await backend.search(query(root, { mode: 'files', ignoreCase: true, maxResults: 2 }));
      expect(capped.truncated).toBe(true);
      expect(capped.files).toHaveLength(2);
    });

    it('searches one file when given a file, and does not follow symbolic links', async () => {
      const root = await project();
      const outside = await tempDirectory();
      await writeFiles(outside, { 'leak.txt': 'TODO outside\n' });
      await symlink(outside, path.join(root, 'linked'));
      const backend = await create();
      const single = await backend.search(
        query(root, { root: path.join(root, 'src/a.ts'), ignoreCase: true }),
      );
      expect(single.files.map((file) => file.path)).toEqual([path.join(root, 'src/a.ts')]);
      const all = await backend.search(query(root, {}));
      expect(all.files.some((file) => file.path.includes('leak'))).toBe(false);
    });

    it('finds nothing without error when nothing matches', async () => {
      const root = await project();
      const result = await (await create()).search(query(root, { pattern: 'no such text anywhere' }));
      expect(result).toEqual({ files: [], truncated: false });
    });

    it('reports an invalid regular expression in words', async () => {
      const root = await project();
      await expect((await create()).search(query(root, { pattern: 'foo(' }))).rejects.toMatchObject({
        code: 'grep_invalid_pattern',
        message: expect.stringContaining('"foo("'),
      });
    });
  });
}
