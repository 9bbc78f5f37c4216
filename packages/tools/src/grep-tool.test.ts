import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createGrepTool } from './grep-tool.js';
import { findRipgrep } from './ripgrep-backend.js';
import { contextFor, tempDirectory, writeFiles } from './test-support/temp-project.js';

async function project() {
  const root = await tempDirectory();
  await writeFiles(root, {
    'src/a.ts': 'const one = 1;\nfunction call() {}\ncall();\nconst two = 2;\n',
    'src/b.ts': 'call();\n',
    'docs/long.md': `${'x'.repeat(1000)} call\n`,
  });
  return root;
}

describe.each(['auto', 'javascript'] as const)('Grep (%s backend)', (backend) => {
  const grep = createGrepTool({ backend, maxLineLength: 50 });

  it('shows matches as path:line:text with context as path-line-text', async () => {
    const root = await project();
    const result = await grep.execute({ pattern: 'call\\(\\)', path: 'src', context: 1 }, contextFor(root));
    expect(result.text).toBe(
      [
        'src/a.ts-1-const one = 1;',
        'src/a.ts:2:function call() {}',
        'src/a.ts:3:call();',
        'src/a.ts-4-const two = 2;',
        '--',
        'src/b.ts:1:call();',
      ].join('\n'),
    );
    if (backend === 'javascript') expect(result.data?.backend).toBe('javascript');
  });

  it('lists files, counts, cuts long lines and caps results', async () => {
    const root = await project();
    const files = await grep.execute(
      { pattern: 'call', output_mode: 'files_with_matches' },
      contextFor(root),
    );
    expect(files.text).toBe('docs/long.md\nsrc/a.ts\nsrc/b.ts');
    const counts = await grep.execute(
      { pattern: 'call', output_mode: 'count', glob: '*.ts' },
      contextFor(root),
    );
    expect(counts.text).toBe('src/a.ts:2\nsrc/b.ts:1');
    const long = await grep.execute({ pattern: 'call', path: 'docs' }, contextFor(root));
    expect(long.text).toBe(`docs/long.md:1:${'x'.repeat(50)}…`);
    const capped = await grep.execute({ pattern: 'call', max_results: 2 }, contextFor(root));
    expect(capped.text.split('\n').filter((line) => /:\d+:/.test(line))).toHaveLength(2);
    expect(capped.text).toContain('[Results capped at 2.');
  });

  it('says plainly when nothing matches or the path is missing', async () => {
    const root = await project();
    expect((await grep.execute({ pattern: 'nothing here' }, contextFor(root))).text).toBe(
      'No matches for "nothing here" in the working directory.',
    );
    await expect(grep.execute({ pattern: 'x', path: 'nope' }, contextFor(root))).rejects.toMatchObject({
      code: 'file_not_found',
    });
  });
});

describe('Grep backend choice', () => {
  it('uses ripgrep when it can be found', async () => {
    const root = await project();
    const result = await createGrepTool().execute({ pattern: 'call' }, contextFor(root));
    expect(result.data?.backend).toBe('ripgrep');
  });

  it('auto with no ripgrep to be found picks JavaScript and still finds the matches', async () => {
    const root = await project();
    let lookups = 0;
    const noRipgrep = async () => {
      lookups++;
      return undefined;
    };
    for (const ripgrep of [false as const, noRipgrep]) {
      const result = await createGrepTool({ backend: 'auto', ripgrep }).execute(
        { pattern: 'call\\(\\)', glob: '*.ts' },
        contextFor(root),
      );
      expect(result.data?.backend).toBe('javascript');
      expect(result.text).toBe('src/a.ts:2:function call() {}\nsrc/a.ts:3:call();\nsrc/b.ts:1:call();');
    }
    expect(lookups).toBe(1);
  });

  it('SHAMMAH_RIPGREP=off turns ripgrep off, a path picks the binary, a wrong path says so', async () => {
    const root = await project();
    const binary = await findRipgrep();
    expect(binary).toBeDefined();
    const saved = process.env.SHAMMAH_RIPGREP;
    try {
      process.env.SHAMMAH_RIPGREP = 'off';
      const off = await createGrepTool().execute({ pattern: 'call' }, contextFor(root));
      expect(off.data?.backend).toBe('javascript');
      expect(off.data?.files.map((file) => path.relative(root, file.path))).toEqual([
        'docs/long.md',
        'src/a.ts',
        'src/b.ts',
      ]);
      process.env.SHAMMAH_RIPGREP = binary;
      const on = await createGrepTool().execute({ pattern: 'call' }, contextFor(root));
      expect(on.data?.backend).toBe('ripgrep');
      process.env.SHAMMAH_RIPGREP = path.join(root, 'no-rg-here');
      await expect(createGrepTool().execute({ pattern: 'call' }, contextFor(root))).rejects.toMatchObject({
        code: 'ripgrep_not_found',
        message: expect.stringContaining('no-rg-here'),
      });
    } finally {
      if (saved === undefined) delete process.env.SHAMMAH_RIPGREP;
      else process.env.SHAMMAH_RIPGREP = saved;
    }
  });

  it('backend ripgrep with no ripgrep is a clear error', async () => {
    const root = await project();
    await expect(
      createGrepTool({ backend: 'ripgrep', ripgrep: false }).execute({ pattern: 'call' }, contextFor(root)),
    ).rejects.toMatchObject({ code: 'ripgrep_not_found' });
  });
});
