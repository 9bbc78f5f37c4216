import { stat } from 'node:fs/promises';
import path from 'node:path';
import picomatch from 'picomatch';
import { z } from 'zod';
import { FileAccessError, throwIfToolAborted } from './errors.js';
import { displayPath, resolvePhysicalPath } from './resolve-path.js';
import { defineTool, type Tool } from './tool.js';
import { walkFiles } from './walk-files.js';

/** Settings of {@link createGlobTool}. */
export interface GlobToolOptions {
  /** Most paths returned (default 100, as the original Shammah). */
  maxResults?: number;
}

/** What Glob returns to the UI. */
export interface GlobToolData {
  /** Absolute paths, newest first. */
  files: string[];
  /** How many files matched in all (more than `files.length` when capped). */
  totalMatches: number;
  truncated: boolean;
}

const inputSchema = z.object({
  pattern: z.string().min(1).describe('Glob pattern, e.g. "**/*.ts" or "src/**/test_*.py".'),
  path: z.string().optional().describe('Directory to search in; defaults to the working directory.'),
});

/**
 * Glob: lists files matching a glob pattern, newest first, respecting `.gitignore`, capped.
 */
export function createGlobTool(
  options: GlobToolOptions = {},
): Tool<z.output<typeof inputSchema>, GlobToolData> {
  const { maxResults = 100 } = options;
  return defineTool({
    name: 'Glob',
    aliases: ['glob', 'find_files'],
    description:
      'Find files by name with a glob pattern such as "**/*.ts" or "src/**/*.{js,jsx}". Returns matching paths, ' +
      `most recently modified first, at most ${maxResults}. Files ignored by .gitignore are skipped. Use Grep to ` +
      'search file contents.',
    inputSchema,
    kind: 'read',
    inputAliases: { glob: 'pattern', directory: 'path', dir: 'path' },
    permissionTarget: (input) => ({ type: 'path', path: input.path ?? '.' }),
    async execute(input, context) {
      throwIfToolAborted(context.signal, 'Glob');
      let pattern = input.pattern.replace(/\\/g, '/');
      let root = await resolvePhysicalPath(input.path ?? '.', context.cwd);
      if (path.isAbsolute(pattern)) {
        // An absolute pattern carries its own directory: search from its non-glob prefix.
        const scanned = picomatch.scan(pattern);
        root = await resolvePhysicalPath(scanned.base || '/', context.cwd);
        pattern = scanned.glob || '**';
      }
      pattern = pattern.replace(/^\.\//, '');
      const rootStats = await stat(root).catch(() => undefined);
      if (!rootStats?.isDirectory()) {
        throw new FileAccessError(
          rootStats ? 'not_a_directory' : 'file_not_found',
          root,
          `${input.path ?? root} is ${rootStats ? 'not a directory' : 'not found'}. Pass a directory as path, or leave it out to search the working directory.`,
        );
      }
      const matches = picomatch(pattern, { dot: pattern.split('/').some((part) => part.startsWith('.')) });
      const found: Array<{ path: string; mtimeMs: number }> = [];
      for await (const file of walkFiles(root, { signal: context.signal, includeHidden: true })) {
        if (!matches(file.relativePath)) continue;
        const stats = await stat(file.path).catch(() => undefined);
        found.push({ path: file.path, mtimeMs: stats?.mtimeMs ?? 0 });
      }
      found.sort((a, b) => b.mtimeMs - a.mtimeMs || (a.path < b.path ? -1 : 1));
      const files = found.slice(0, maxResults).map((entry) => entry.path);
      const truncated = found.length > files.length;
      if (files.length === 0) {
        return {
          text:
            `No files match "${input.pattern}" in ${root === context.cwd ? 'the working directory' : displayPath(root, context.cwd)}.` +
            (pattern.includes('/') ? '' : ` To search subdirectories too, use "**/${pattern}".`),
          data: { files, totalMatches: 0, truncated: false },
        };
      }
      const listing = files.map((file) => displayPath(file, context.cwd)).join('\n');
      const note = truncated
        ? `\n\n[Showing the ${files.length} newest of ${found.length} matches. Use a narrower pattern or path to see others.]`
        : '';
      return { text: listing + note, data: { files, totalMatches: found.length, truncated } };
    },
  });
}
