import { stat } from 'node:fs/promises';
import { z } from 'zod';
import { FileAccessError, ToolError, throwIfToolAborted } from './errors.js';
import type { GrepBackend, GrepFileResult } from './grep-backend.js';
import { createJavaScriptGrepBackend } from './javascript-grep-backend.js';
import { displayPath, resolvePhysicalPath } from './resolve-path.js';
import { createRipgrepBackend, findRipgrep, type RipgrepLookup } from './ripgrep-backend.js';
import { defineTool, type Tool } from './tool.js';

/** Settings of {@link createGrepTool}. */
export interface GrepToolOptions {
  /** `auto` (default) uses ripgrep when found on PATH or through `@vscode/ripgrep`, else JavaScript. */
  backend?: 'auto' | 'ripgrep' | 'javascript' | GrepBackend;
  /**
   * How `auto` and `ripgrep` find the binary: `false` never uses ripgrep, a string is the binary, a
   * function looks it up. Defaults to the `SHAMMAH_RIPGREP` environment variable (a path, or `off`),
   * else `rg` on `PATH`, else `@vscode/ripgrep`.
   */
  ripgrep?: RipgrepLookup;
  /** Default cap on matching lines (content mode) or files (default 50, as the original Shammah). */
  maxResults?: number;
  /** Longer lines are cut in the output (default 300 characters). */
  maxLineLength?: number;
}

/** What Grep returns to the UI. */
export interface GrepToolData {
  backend: 'ripgrep' | 'javascript';
  files: GrepFileResult[];
  truncated: boolean;
}

const inputSchema = z.object({
  pattern: z.string().min(1).describe('Regular expression to search for, e.g. "fn\\s+main" or "TODO".'),
  path: z.string().optional().describe('File or directory to search; defaults to the working directory.'),
  glob: z.string().optional().describe('Only search files matching this glob, e.g. "*.ts" or "src/**/*.py".'),
  ignore_case: z.boolean().optional().describe('Match without regard to case.'),
  context: z.number().int().min(0).max(10).optional().describe('Lines of context to show around each match.'),
  output_mode: z
    .enum(['content', 'files_with_matches', 'count'])
    .optional()
    .describe(
      '"content" (default) shows matching lines; "files_with_matches" lists files; "count" counts per file.',
    ),
  max_results: z
    .number()
    .int()
    .min(1)
    .max(1000)
    .optional()
    .describe('Most matching lines or files to return.'),
});

let autoBackend: Promise<GrepBackend> | undefined;

/**
 * The backend `auto` picks: ripgrep when found, else JavaScript. `ripgrep` says how to find it (see
 * {@link GrepToolOptions.ripgrep}); without it, and without `SHAMMAH_RIPGREP`, the choice is cached.
 */
export function resolveGrepBackend(
  choice: GrepToolOptions['backend'] = 'auto',
  ripgrep?: RipgrepLookup,
): Promise<GrepBackend> {
  if (typeof choice === 'object') return Promise.resolve(choice);
  if (choice === 'javascript') return Promise.resolve(createJavaScriptGrepBackend());
  if (choice === 'ripgrep') {
    return findRipgrep(ripgrep).then((binary) => {
      if (!binary)
        throw new ToolError(
          'ripgrep_not_found',
          'Grep was set to the ripgrep backend, but ripgrep is neither on PATH nor installed via @vscode/ripgrep ' +
            '(and SHAMMAH_RIPGREP names none). Install ripgrep, or use backend "auto" or "javascript".',
        );
      return createRipgrepBackend(binary);
    });
  }
  const pick = () =>
    findRipgrep(ripgrep).then((binary) =>
      binary ? createRipgrepBackend(binary) : createJavaScriptGrepBackend(),
    );
  if (ripgrep !== undefined || process.env.SHAMMAH_RIPGREP !== undefined) return pick();
  autoBackend ??= pick();
  return autoBackend;
}

/**
 * Grep: searches file contents with a regular expression, with a file glob, context lines and three
 * output modes; respects `.gitignore`. Uses ripgrep where available, else a JavaScript fallback.
 */
export function createGrepTool(
  options: GrepToolOptions = {},
): Tool<z.output<typeof inputSchema>, GrepToolData> {
  const { maxResults = 50, maxLineLength = 300 } = options;
  return defineTool({
    name: 'Grep',
    aliases: ['grep', 'search'],
    description:
      'Search file contents with a regular expression. Returns matching lines as path:line:text (context lines as ' +
      'path-line-text). Filter files with glob (e.g. "*.ts"), add context lines, or set output_mode to ' +
      `"files_with_matches" or "count". At most ${maxResults} results unless max_results is set. Files ignored by ` +
      '.gitignore, hidden files and binary files are skipped.',
    inputSchema,
    kind: 'read',
    inputAliases: {
      regex: 'pattern',
      query: 'pattern',
      include: 'glob',
      directory: 'path',
      '-i': 'ignore_case',
    },
    permissionTarget: (input) => ({ type: 'path', path: input.path ?? '.' }),
    async execute(input, context) {
      throwIfToolAborted(context.signal, 'Grep');
      const root = await resolvePhysicalPath(input.path ?? '.', context.cwd);
      if (!(await stat(root).catch(() => undefined))) {
        throw new FileAccessError(
          'file_not_found',
          root,
          `${input.path} does not exist. Pass an existing file or directory, or leave path out to search the working directory.`,
        );
      }
      const backend = await resolveGrepBackend(options.backend, options.ripgrep);
      const mode =
        input.output_mode === 'files_with_matches'
          ? 'files'
          : input.output_mode === 'count'
            ? 'count'
            : 'content';
      const result = await backend.search({
        pattern: input.pattern,
        root,
        ...(input.glob ? { glob: input.glob } : {}),
        ignoreCase: input.ignore_case ?? false,
        contextLines: input.context ?? 0,
        mode,
        maxResults: input.max_results ?? maxResults,
        signal: context.signal,
      });
      const data: GrepToolData = { backend: backend.name, files: result.files, truncated: result.truncated };
      if (result.files.length === 0) {
        return {
          text: `No matches for ${JSON.stringify(input.pattern)} in ${root === context.cwd ? 'the working directory' : displayPath(root, context.cwd)}.`,
          data,
        };
      }
      const show = (file: string) => displayPath(file, context.cwd);
      const cut = (text: string) => (text.length > maxLineLength ? `${text.slice(0, maxLineLength)}…` : text);
      let text: string;
      if (mode === 'files') text = result.files.map((file) => show(file.path)).join('\n');
      else if (mode === 'count')
        text = result.files.map((file) => `${show(file.path)}:${file.matchCount}`).join('\n');
      else {
        const blocks: string[] = [];
        for (const file of result.files) {
          const name = show(file.path);
          let previous: number | undefined;
          for (const line of file.lines) {
            if (previous !== undefined && line.lineNumber > previous + 1) blocks.push('--');
            blocks.push(
              `${name}${line.isMatch ? ':' : '-'}${line.lineNumber}${line.isMatch ? ':' : '-'}${cut(line.text)}`,
            );
            previous = line.lineNumber;
          }
          if (input.context && file !== result.files.at(-1)) blocks.push('--');
        }
        text = blocks.join('\n');
      }
      if (result.truncated) {
        text += `\n\n[Results capped at ${input.max_results ?? maxResults}. Narrow the pattern, path or glob, or raise max_results.]`;
      }
      return { text, data };
    },
  });
}
