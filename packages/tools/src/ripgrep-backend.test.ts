import { describe, expect, it } from 'vitest';
import { runTest } from './grep-backend.case.test.js';
import { createRipgrepBackend, findRipgrep } from './ripgrep-backend.js';

const binary = await findRipgrep();

describe('findRipgrep', () => {
  it('finds the binary @vscode/ripgrep ships (installed from the registry, no download)', () => {
    // @vscode/ripgrep 1.18 ships rg inside a per-platform package; on the supported platforms it is present.
    expect(binary).toMatch(/rg(\.exe)?$/);
  });
});

describe.skipIf(!binary)('ripgrep backend', () => {
  runTest({ create: async () => createRipgrepBackend(binary!) });

  it('accepts look-around by switching to PCRE2', async () => {
    const { tempDirectory, writeFiles } = await import('./test-support/temp-project.js');
    const root = await tempDirectory();
    await writeFiles(root, { 'a.txt': 'foobar\nfoobaz\n' });
    const result = await createRipgrepBackend(binary!).search({
      pattern: 'foo(?=baz)',
      root,
      ignoreCase: false,
      contextLines: 0,
      mode: 'content',
      maxResults: 10,
    });
    expect(result.files[0]?.lines.map((line) => line.text)).toEqual(['foobaz']);
  });
});
