import { mkdir, readFile, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  appendInstruction,
  findProjectRoot,
  instructionFiles,
  loadProjectInstructions,
  readInstructionFile,
  writeInstructionFile,
} from './project-instructions.js';
import { RecordingLogger } from './test-support/recording-logger.js';
import { tempDirectory } from './test-support/temp-directory.js';

async function files(root: string, entries: Record<string, string>): Promise<void> {
  for (const [name, content] of Object.entries(entries)) {
    await mkdir(path.dirname(path.join(root, name)), { recursive: true });
    await writeFile(path.join(root, name), content);
  }
}

describe('project instructions', () => {
  it('reads constitution.md, then AGENTS.md and CLAUDE.md from the repository root down to the working directory', async () => {
    const base = await tempDirectory();
    const home = path.join(base, 'home');
    const repo = path.join(base, 'repo');
    await files(base, {
      'home/constitution.md': 'Answer in British English.\n',
      'AGENTS.md': 'Outside the repository: never read.',
      'repo/.git/HEAD': 'ref: refs/heads/main\n',
      'repo/AGENTS.md': '\uFEFFUse pnpm, never npm.\n',
      'repo/CLAUDE.md': 'Use pnpm, never npm.\n',
      'repo/packages/app/AGENTS.md': 'This package is ESM only.',
      'repo/packages/app/src/index.ts': '',
    });
    await symlink(path.join(repo, 'packages/app/AGENTS.md'), path.join(repo, 'packages/app/CLAUDE.md'));

    const instructions = await loadProjectInstructions({
      cwd: path.join(repo, 'packages/app/src'),
      constitutionPath: path.join(home, 'constitution.md'),
    });
    expect(instructions.projectRoot).toBe(repo);
    expect(instructions.sources.map((source) => [source.scope, path.relative(base, source.path)])).toEqual([
      ['user', 'home/constitution.md'],
      ['project', 'repo/AGENTS.md'],
      ['directory', 'repo/packages/app/AGENTS.md'],
    ]);
    expect(instructions.text).toBe(
      [
        '# Instructions',
        'Follow these instructions from the user and the project. Later ones are more specific and take precedence.',
        `## From your instructions for every project (${home}/constitution.md)\n\nAnswer in British English.`,
        `## From this project's instructions (AGENTS.md at ${repo})\n\nUse pnpm, never npm.`,
        `## From instructions for packages/app (${repo}/packages/app/AGENTS.md)\n\nThis package is ESM only.`,
      ].join('\n\n'),
    );
  });

  it('caps each file and the whole, saying so in the header', async () => {
    const base = await tempDirectory();
    const logger = new RecordingLogger();
    await files(base, {
      '.git': 'gitdir: /elsewhere/.git/worktrees/x\n',
      'AGENTS.md': `${'a'.repeat(3000)}THE END`,
      'sub/AGENTS.md': 'b'.repeat(500),
      'sub/deeper/CLAUDE.md': 'never fits',
    });
    const instructions = await loadProjectInstructions({
      cwd: path.join(base, 'sub/deeper'),
      constitutionPath: path.join(base, 'missing.md'),
      maxFileChars: 1000,
      maxTotalChars: 1500,
      logger,
    });
    expect(instructions.projectRoot).toBe(base);
    const [root, sub] = instructions.sources;
    expect(instructions.sources).toHaveLength(2);
    expect(root).toMatchObject({ truncated: true, chars: 3007 });
    expect(root!.content.length).toBeLessThanOrEqual(1000);
    expect(root!.content).not.toContain('THE END');
    expect(instructions.text).toContain(`(first ${root!.content.length} of 3007 characters)`);
    expect(sub!.content.length).toBeLessThanOrEqual(500);
    expect(instructions.text).not.toContain('never fits');
    expect(logger.entries.map((entry) => entry.message)).toContain(
      'instruction files exceed the size cap; leaving this one out',
    );
  });

  it('outside a repository reads only the working directory, and gives nothing when there is nothing', async () => {
    const base = await tempDirectory();
    await files(base, { 'AGENTS.md': 'parent', 'work/AGENTS.md': 'here' });
    const here = await loadProjectInstructions({
      cwd: path.join(base, 'work'),
      constitutionPath: '/nonexistent',
    });
    expect(await findProjectRoot(path.join(base, 'work'))).toBeUndefined();
    expect(here.sources.map((source) => source.content)).toEqual(['here']);
    const empty = await loadProjectInstructions({
      cwd: path.join(base, 'work', '..', 'none'),
      constitutionPath: '/nonexistent',
    });
    expect(empty).toEqual({ text: '', sources: [] });
  });

  it('lists, reads, writes and appends the files /memory edits', async () => {
    const base = await tempDirectory();
    await files(base, { 'repo/.git/HEAD': '', 'repo/src/x.ts': '', 'repo/CLAUDE.md': 'Claude rules' });
    const constitution = path.join(base, 'home/constitution.md');
    const repo = path.join(base, 'repo');
    const listed = await instructionFiles({ cwd: path.join(repo, 'src'), constitutionPath: constitution });
    expect(listed.map((file) => [file.scope, path.relative(base, file.path), file.exists])).toEqual([
      ['user', 'home/constitution.md', false],
      ['project', 'repo/CLAUDE.md', true],
      ['directory', 'repo/src/AGENTS.md', false],
    ]);
    expect(listed[0]!.description).toBe(`your instructions for every project (${constitution})`);

    expect(await readInstructionFile(constitution)).toBe('');
    await appendInstruction(constitution, 'always use pnpm');
    await appendInstruction(constitution, '- prefer small commits');
    await appendInstruction(constitution, '   ');
    expect(await readFile(constitution, 'utf8')).toBe('- always use pnpm\n- prefer small commits\n');
    await writeInstructionFile(path.join(repo, 'AGENTS.md'), '# Rules\nTabs, not spaces');
    expect(await readInstructionFile(path.join(repo, 'AGENTS.md'))).toBe('# Rules\nTabs, not spaces\n');
    const loaded = await loadProjectInstructions({ cwd: repo, constitutionPath: constitution });
    expect(loaded.sources.map((source) => path.basename(source.path))).toEqual([
      'constitution.md',
      'AGENTS.md',
      'CLAUDE.md',
    ]);
    await expect(writeInstructionFile(path.join(repo, 'CLAUDE.md', 'x.md'), 'no')).rejects.toMatchObject({
      code: 'instruction_file_failed',
    });
  });
});
