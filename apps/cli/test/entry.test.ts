// What Node loads before the prompt. The `shammah` command starts from one CommonJS file holding
// only argument parsing and the instant frame (scripts/bundle-entry.ts), so Node runs it without
// its ES module loader; everything else is a file tsc emitted, loaded with import() once the prompt
// is on screen. Runs against the built CLI (`pnpm --filter shammah build`).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runShammah, SHAMMAH_BIN } from './support/shammah-home.js';

const packageDir = join(dirname(SHAMMAH_BIN), '..');
const dist = join(packageDir, 'dist');

describe('the shammah entry', () => {
  it('is one CommonJS file that requires only Node built-ins, the rest loaded later with import()', async () => {
    expect(await readFile(SHAMMAH_BIN, 'utf8')).toContain("require('../dist/bin.cjs')");
    const bundle = await readFile(join(dist, 'bin.cjs'), 'utf8');
    const required = [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)].map((match) => match[1]!);
    expect(required).toContain('node:fs');
    expect(required.filter((specifier) => !specifier.startsWith('node:'))).toEqual([]);
    const imported = [...bundle.matchAll(/\bimport\("([^"]+)"\)/g)].map((match) => match[1]!);
    expect(imported).toEqual(expect.arrayContaining(['./tui/tui-app.js', './one-shot.js']));
    for (const specifier of imported) expect(existsSync(join(dist, specifier)), specifier).toBe(true);
  });

  it('prints the version from package.json, found from the bundle', async () => {
    const { version } = JSON.parse(await readFile(join(packageDir, 'package.json'), 'utf8')) as {
      version: string;
    };
    const result = await runShammah(['--version'], { timeoutMs: 30_000 });
    expect(result).toEqual({ code: 0, stdout: `shammah ${version}\n`, stderr: '' });
  });
});
