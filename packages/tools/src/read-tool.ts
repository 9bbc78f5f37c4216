import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { StringDecoder } from 'node:string_decoder';
import { z } from 'zod';
import { FileAccessError, ToolAbortedError, throwIfToolAborted } from './errors.js';
import { displayPath, resolvePhysicalPath } from './resolve-path.js';
import { detectBinary, readHead, similarFileNames } from './text-file.js';
import { defineTool, type Tool } from './tool.js';

/** Settings of {@link createReadTool}. */
export interface ReadToolOptions {
  /** Lines shown when the model gives no `limit` (default 2000). */
  defaultLimit?: number;
  /** Longer lines are cut (default 2000 characters). */
  maxLineLength?: number;
  /** The numbered text stops before this many characters, and says where to continue (default 20,000). */
  maxChars?: number;
}

/** What Read returns to the UI. */
export interface ReadToolData {
  path: string;
  /** First and last line shown, 1-based; 0 and 0 for an empty file. */
  startLine: number;
  endLine: number;
  totalLines: number;
  /** Fewer lines were shown than the file has from `startLine` on. */
  truncated: boolean;
}

const inputSchema = z.object({
  file_path: z.string().min(1).describe('Path of the file, absolute or relative to the working directory.'),
  offset: z
    .number()
    .int()
    .min(1)
    .optional()
    .describe('Line number to start at (1-based). Use it with limit for large files.'),
  limit: z.number().int().min(1).optional().describe('How many lines to read.'),
});

/**
 * Read: shows a text file with line numbers, `offset`/`limit` for large files; refuses directories and
 * binary files with a message saying what to do instead.
 */
export function createReadTool(
  options: ReadToolOptions = {},
): Tool<z.output<typeof inputSchema>, ReadToolData> {
  const { defaultLimit = 2000, maxLineLength = 2000, maxChars = 20_000 } = options;
  return defineTool({
    name: 'Read',
    aliases: ['read', 'read_file'],
    description:
      'Read a text file. Returns its lines prefixed with line numbers. For large files, pass offset (first line, ' +
      `1-based) and limit (number of lines); at most ${defaultLimit} lines are shown by default. Use it before editing ` +
      'a file. It cannot read directories (use Glob) or binary files.',
    inputSchema,
    kind: 'read',
    inputAliases: { path: 'file_path', filePath: 'file_path', filename: 'file_path', file: 'file_path' },
    maxOutputChars: maxChars + 2_000,
    permissionTarget: (input) => ({ type: 'path', path: input.file_path }),
    async execute(input, context) {
      throwIfToolAborted(context.signal, 'Read');
      const file = await resolvePhysicalPath(input.file_path, context.cwd);
      const shown = displayPath(file, context.cwd);
      const stats = await stat(file).catch(() => undefined);
      if (!stats) {
        const similar = await similarFileNames(file);
        throw new FileAccessError(
          'file_not_found',
          file,
          `File not found: ${input.file_path}.` +
            (similar.length > 0
              ? ` Did you mean ${similar.map((name) => displayPath(name, context.cwd)).join(' or ')}?`
              : ' Use Glob to find the right path.'),
        );
      }
      if (stats.isDirectory()) {
        throw new FileAccessError(
          'not_a_file',
          file,
          `${shown} is a directory, not a file. Use Glob with path "${shown}" to list its files.`,
        );
      }
      const { binary, kind } = detectBinary(await readHead(file));
      if (binary) {
        throw new FileAccessError(
          'binary_file',
          file,
          `${shown} is a ${kind} (${stats.size} bytes), not text; Read shows text files only.`,
        );
      }

      const offset = input.offset ?? 1;
      const limit = input.limit ?? defaultLimit;
      const width = String(offset + limit).length;
      const lines: string[] = [];
      let chars = 0;
      let lineNumber = 0;
      let lastShown = offset - 1;
      let cutByBudget = false;
      const take = (line: string) => {
        lineNumber++;
        if (lineNumber < offset || lineNumber >= offset + limit || cutByBudget) return;
        const body = line.length > maxLineLength ? `${line.slice(0, maxLineLength)}… [line cut]` : line;
        const numbered = `${String(lineNumber).padStart(Math.max(width, 6))}\t${body}`;
        if (chars + numbered.length + 1 > maxChars && lines.length > 0) {
          cutByBudget = true;
          return;
        }
        lines.push(numbered);
        chars += numbered.length + 1;
        lastShown = lineNumber;
      };

      const decoder = new StringDecoder('utf8');
      let rest = '';
      const stream = createReadStream(file, { signal: context.signal });
      try {
        for await (const chunk of stream) {
          const text = rest + decoder.write(chunk as Buffer);
          const parts = text.split('\n');
          rest = parts.pop() ?? '';
          for (const part of parts) take(part.endsWith('\r') ? part.slice(0, -1) : part);
        }
      } catch (error) {
        if (context.signal.aborted) throw new ToolAbortedError('Read', { cause: error });
        throw error;
      }
      rest += decoder.end();
      if (rest !== '') take(rest.endsWith('\r') ? rest.slice(0, -1) : rest);
      const totalLines = lineNumber;

      if (totalLines === 0) {
        return {
          text: `${shown} is empty.`,
          data: { path: file, startLine: 0, endLine: 0, totalLines: 0, truncated: false },
        };
      }
      if (offset > totalLines) {
        throw new FileAccessError(
          'file_not_found',
          file,
          `${shown} has only ${totalLines} lines; offset ${offset} is past its end. Use an offset from 1 to ${totalLines}.`,
        );
      }
      const truncated = lastShown < totalLines;
      let text = lines.join('\n');
      if (truncated) {
        text +=
          `\n\n[Showing lines ${offset}-${lastShown} of ${totalLines}.` +
          ` Read again with offset ${lastShown + 1} to continue.]`;
      }
      return { text, data: { path: file, startLine: offset, endLine: lastShown, totalLines, truncated } };
    },
  });
}
