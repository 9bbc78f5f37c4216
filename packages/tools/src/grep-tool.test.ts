import { describe, expect, it } from 'vitest';
import { createGrepTool } from './grep-tool.js';
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
});
