import { readFile, stat } from 'node:fs/promises';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { EditMatchError, FileAccessError, throwIfToolAborted } from './errors.js';
import { displayPath, resolvePhysicalPath } from './resolve-path.js';
import { detectBinary } from './text-file.js';
import { defineTool, type Tool } from './tool.js';

/** What Edit returns to the UI. */
export interface EditToolData {
  path: string;
  replacements: number;
  /** 1-based line where the first replacement starts. */
  firstLine: number;
}

const inputSchema = z.object({
  file_path: z.string().min(1).describe('Path of the file to edit.'),
  old_string: z.string().min(1).describe('The exact text to replace, including whitespace and indentation.'),
  new_string: z.string().describe('The text to put in its place.'),
  replace_all: z.boolean().optional().describe('Replace every occurrence instead of requiring exactly one.'),
});

function lineOf(text: string, index: number): number {
  let line = 1;
  for (
    let position = text.indexOf('\n');
    position !== -1 && position < index;
    position = text.indexOf('\n', position + 1)
  ) {
    line++;
  }
  return line;
}

function occurrences(text: string, search: string): number[] {
  const found: number[] = [];
  for (let index = text.indexOf(search); index !== -1; index = text.indexOf(search, index + search.length)) {
    found.push(index);
  }
  return found;
}

/** Where `search` would match if whitespace were ignored: a hint for a failed edit. */
function looseMatchLine(text: string, search: string): number | undefined {
  const words = search
    .trim()
    .split(/\s+/)
    .map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
  if (words.length === 0 || words.join('').length < 3) return undefined;
  const match = new RegExp(words.join('\\s+')).exec(text);
  return match ? lineOf(text, match.index) : undefined;
}

/**
 * Edit: replaces an exact string in a file. Fails clearly when the string is absent (with a hint when
 * it only differs in whitespace) or appears more than once without `replace_all`. Writes atomically,
 * keeping the file's permission bits, and keeps CRLF files CRLF.
 */
export function createEditTool(): Tool<z.output<typeof inputSchema>, EditToolData> {
  return defineTool({
    name: 'Edit',
    aliases: ['edit', 'edit_file', 'str_replace'],
    description:
      'Replace text in a file: old_string must match the file exactly (whitespace and indentation included) and ' +
      'must occur once, unless replace_all is true. Include enough surrounding lines to make it unique. Read the ' +
      'file first. Use Write to create new files.',
    inputSchema,
    kind: 'write',
    inputAliases: {
      path: 'file_path',
      filePath: 'file_path',
      old_str: 'old_string',
      new_str: 'new_string',
      old: 'old_string',
      new: 'new_string',
    },
    permissionTarget: (input) => ({ type: 'path', path: input.file_path }),
    async execute(input, context) {
      throwIfToolAborted(context.signal, 'Edit');
      const file = await resolvePhysicalPath(input.file_path, context.cwd);
      const shown = displayPath(file, context.cwd);
      const stats = await stat(file).catch(() => undefined);
      if (!stats) {
        throw new FileAccessError(
          'file_not_found',
          file,
          `${input.file_path} does not exist. Use Write to create it.`,
        );
      }
      if (stats.isDirectory())
        throw new FileAccessError('not_a_file', file, `${shown} is a directory, not a file.`);
      const buffer = await readFile(file, { signal: context.signal });
      if (detectBinary(buffer.subarray(0, 8192)).binary) {
        throw new FileAccessError(
          'binary_file',
          file,
          `${shown} is a binary file; Edit changes text files only.`,
        );
      }
      const original = buffer.toString('utf8');
      if (input.old_string === input.new_string) {
        throw new EditMatchError(
          'edit_no_change',
          file,
          'old_string and new_string are the same; nothing would change.',
        );
      }
      let oldString = input.old_string;
      let newString = input.new_string;
      let found = occurrences(original, oldString);
      // Models write \n; a CRLF file needs \r\n to match, and should stay CRLF.
      if (
        found.length === 0 &&
        original.includes('\r\n') &&
        oldString.includes('\n') &&
        !oldString.includes('\r\n')
      ) {
        oldString = oldString.replace(/\n/g, '\r\n');
        newString = newString.replace(/\r?\n/g, '\r\n');
        found = occurrences(original, oldString);
      }
      if (found.length === 0) {
        const loose = looseMatchLine(original, input.old_string);
        throw new EditMatchError(
          'edit_no_match',
          file,
          `old_string was not found in ${shown}.` +
            (loose !== undefined
              ? ` Text matching it apart from whitespace starts at line ${loose}: copy it exactly, indentation included.`
              : ' Read the file and copy the exact text to replace, including whitespace and indentation.'),
        );
      }
      if (found.length > 1 && !input.replace_all) {
        const lines = found.slice(0, 10).map((index) => lineOf(original, index));
        throw new EditMatchError(
          'edit_ambiguous',
          file,
          `old_string occurs ${found.length} times in ${shown} (lines ${lines.join(', ')}${found.length > 10 ? ', …' : ''}). ` +
            'Include more surrounding lines so it matches once, or set replace_all to true to replace every occurrence.',
        );
      }
      const updated = input.replace_all
        ? original.split(oldString).join(newString)
        : original.slice(0, found[0]!) + newString + original.slice(found[0]! + oldString.length);
      throwIfToolAborted(context.signal, 'Edit');
      await writeFileAtomic(file, updated);

      const firstLine = lineOf(original, found[0]!);
      const updatedLines = updated.split('\n');
      const changedLines = newString.split('\n').length;
      const from = Math.max(1, firstLine - 3);
      const to = Math.min(updatedLines.length, firstLine + changedLines + 2);
      const snippet = updatedLines
        .slice(from - 1, to)
        .map((line, index) => `${String(from + index).padStart(6)}\t${line.replace(/\r$/, '')}`)
        .join('\n');
      const count = input.replace_all ? found.length : 1;
      return {
        text: `Edited ${shown}: replaced ${count} occurrence${count === 1 ? '' : 's'}. Lines ${from}-${to} now read:\n${snippet}`,
        data: { path: file, replacements: count, firstLine },
      };
    },
  });
}
