import { readFile, realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import { shammahPaths, writeFileAtomic } from '@shammah/config';
import { type Logger, silentLogger } from '@shammah/provider';
import { truncateText } from '@shammah/tools';
import { InstructionFileError } from './errors.js';

/** Where an instruction file applies. */
export type InstructionScope = 'user' | 'project' | 'directory';

/** One instruction file that was read into the system prompt. */
export interface InstructionSource {
  /** `user`: constitution.md in Shammah's home; `project`: at the repository root; `directory`: below it. */
  scope: InstructionScope;
  path: string;
  /** What made it into the prompt (maybe shortened). */
  content: string;
  /** The file was longer than the cap and was cut. */
  truncated: boolean;
  /** The file's full length in characters. */
  chars: number;
}

/** The instructions for the system prompt, and where they came from. */
export interface ProjectInstructions {
  /** The section to add to the system prompt; empty when there are no instruction files. */
  text: string;
  sources: InstructionSource[];
  /** The repository root (where `.git` is), when the directory is inside one. */
  projectRoot?: string;
}

/** Settings of {@link loadProjectInstructions} and {@link instructionFiles}. */
export interface InstructionOptions {
  /** The working directory; files are looked for from it up to the repository root. */
  cwd: string;
  /** The user-wide file; default `constitution.md` in Shammah's home. */
  constitutionPath?: string;
  /** File names read in each directory, in order (default `AGENTS.md`, `CLAUDE.md`). */
  fileNames?: readonly string[];
  /** Most characters taken from one file (default 16 000). */
  maxFileChars?: number;
  /** Most characters of instructions in all (default 32 000); files past it are left out and logged. */
  maxTotalChars?: number;
  logger?: Logger;
}

/** One place `/memory` can show or edit. */
export interface InstructionFile {
  scope: InstructionScope;
  path: string;
  exists: boolean;
  /** Words for the user: "your instructions for every project", "this project (AGENTS.md at /repo)". */
  description: string;
}

const DEFAULT_FILE_NAMES = ['AGENTS.md', 'CLAUDE.md'] as const;

async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}

/**
 * The repository root containing `directory`: the nearest ancestor (or itself) with a `.git` folder
 * or file (worktrees and submodules have a file); `undefined` outside any repository.
 */
export async function findProjectRoot(directory: string): Promise<string | undefined> {
  let current = path.resolve(directory);
  while (true) {
    if (await exists(path.join(current, '.git'))) return current;
    const parent = path.dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

/** Directories from the repository root down to `cwd` (only `cwd` outside a repository). */
async function directoriesOf(cwd: string): Promise<{ root: string | undefined; directories: string[] }> {
  const start = path.resolve(cwd);
  const root = await findProjectRoot(start);
  if (!root) return { root, directories: [start] };
  const directories: string[] = [];
  let current = start;
  while (true) {
    directories.unshift(current);
    if (current === root) break;
    current = path.dirname(current);
  }
  return { root, directories };
}

function describe(scope: InstructionScope, file: string, root: string | undefined): string {
  if (scope === 'user') return `your instructions for every project (${file})`;
  if (scope === 'project')
    return `this project's instructions (${path.basename(file)} at ${path.dirname(file)})`;
  return `instructions for ${root ? path.relative(root, path.dirname(file)) : path.dirname(file)} (${file})`;
}

/**
 * The instruction files that apply in `cwd`, existing or not, for `/memory`: the user's
 * constitution, the repository root's files, and those of each directory down to `cwd`. Where no
 * file exists in a directory, the first of `fileNames` is listed as the one to create.
 */
export async function instructionFiles(options: InstructionOptions): Promise<InstructionFile[]> {
  const fileNames = options.fileNames ?? DEFAULT_FILE_NAMES;
  const constitution = options.constitutionPath ?? shammahPaths().constitution;
  const { root, directories } = await directoriesOf(options.cwd);
  const files: InstructionFile[] = [
    {
      scope: 'user',
      path: constitution,
      exists: await exists(constitution),
      description: describe('user', constitution, root),
    },
  ];
  for (const directory of directories) {
    const scope: InstructionScope =
      directory === root || (!root && directory === directories[0]) ? 'project' : 'directory';
    const present: InstructionFile[] = [];
    for (const name of fileNames) {
      const file = path.join(directory, name);
      if (await exists(file))
        present.push({ scope, path: file, exists: true, description: describe(scope, file, root) });
    }
    if (present.length === 0 && (directory === directories[0] || directory === directories.at(-1))) {
      const file = path.join(directory, fileNames[0]!);
      present.push({ scope, path: file, exists: false, description: describe(scope, file, root) });
    }
    files.push(...present);
  }
  return files;
}

/**
 * Reads the instructions that apply in `cwd` for the system prompt: the user's `constitution.md`
 * first, then `AGENTS.md` (and `CLAUDE.md`) from the repository root down to `cwd`, the most
 * specific last. Each comes under a header saying where it is from; each file and the whole are
 * capped in size. A file that cannot be read is logged and skipped.
 *
 * @example
 * ```ts
 * const { text } = await loadProjectInstructions({ cwd: process.cwd() });
 * const system = [basePrompt, text].filter(Boolean).join('\n\n');
 * ```
 */
export async function loadProjectInstructions(options: InstructionOptions): Promise<ProjectInstructions> {
  const logger = (options.logger ?? silentLogger).child({ module: 'instructions' });
  const maxFileChars = options.maxFileChars ?? 16_000;
  let remaining = options.maxTotalChars ?? 32_000;
  const files = (await instructionFiles(options)).filter((file) => file.exists);
  const root = await findProjectRoot(options.cwd);
  const sources: InstructionSource[] = [];
  const seen = new Set<string>();
  const contents = new Set<string>();
  for (const file of files) {
    let text: string;
    try {
      const real = await realpath(file.path);
      // CLAUDE.md is often a link to AGENTS.md, or a copy of it: read it once.
      if (seen.has(real)) continue;
      seen.add(real);
      text = (await readFile(file.path, 'utf8')).replace(/^\uFEFF/, '').trim();
    } catch (error) {
      logger.warn({ err: error, path: file.path }, 'cannot read an instruction file; leaving it out');
      continue;
    }
    if (text === '' || contents.has(text)) continue;
    contents.add(text);
    if (remaining <= 0) {
      logger.warn({ path: file.path }, 'instruction files exceed the size cap; leaving this one out');
      continue;
    }
    const cap = Math.min(maxFileChars, remaining);
    const shortened = truncateText(text, { maxChars: cap, mode: 'head' });
    remaining -= shortened.text.length;
    if (shortened.truncated) {
      logger.warn(
        { path: file.path, chars: text.length, cap },
        'an instruction file was cut to fit the size cap',
      );
    }
    sources.push({
      scope: file.scope,
      path: file.path,
      content: shortened.text,
      truncated: shortened.truncated,
      chars: text.length,
    });
  }
  const text =
    sources.length === 0
      ? ''
      : [
          '# Instructions',
          'Follow these instructions from the user and the project. Later ones are more specific and take precedence.',
          ...sources.map(
            (source) =>
              `## From ${describe(source.scope, source.path, root)}${source.truncated ? ` (first ${source.content.length} of ${source.chars} characters)` : ''}\n\n${source.content}`,
          ),
        ].join('\n\n');
  return { text, sources, ...(root ? { projectRoot: root } : {}) };
}

/** An instruction file's text for `/memory`; empty when it does not exist yet. */
export async function readInstructionFile(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return '';
    throw new InstructionFileError(
      file,
      `Cannot read ${file}: ${(error as Error).message}. Check its permissions.`,
      {
        cause: error,
      },
    );
  }
}

/** Replaces an instruction file's text (atomically, creating its directory) after `/memory` edited it. */
export async function writeInstructionFile(file: string, content: string): Promise<void> {
  try {
    await writeFileAtomic(file, content.endsWith('\n') || content === '' ? content : `${content}\n`);
  } catch (error) {
    throw new InstructionFileError(
      file,
      `Cannot write ${file}: ${(error as Error).message}. Check that its directory is writable.`,
      { cause: error },
    );
  }
}

/**
 * Adds one instruction as a bullet at the end of a file (Claude Code's `#` shortcut:
 * "# always use pnpm" remembers "- always use pnpm").
 */
export async function appendInstruction(file: string, instruction: string): Promise<void> {
  const line = instruction.trim().replace(/^[-*]\s+/, '');
  if (line === '') return;
  const current = await readInstructionFile(file);
  const separator = current === '' || current.endsWith('\n') ? '' : '\n';
  await writeInstructionFile(file, `${current}${separator}- ${line}\n`);
}
