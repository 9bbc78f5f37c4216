import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { writeFileAtomic } from './atomic-write.js';
import { FileAccessError, throwIfToolAborted } from './errors.js';
import { displayPath, resolvePhysicalPath } from './resolve-path.js';
import { defineTool, type Tool } from './tool.js';

/** What Write returns to the UI. */
export interface WriteToolData {
  /** The file written, symbolic links resolved. */
  path: string;
  created: boolean;
  bytes: number;
}

const inputSchema = z.object({
  file_path: z.string().min(1).describe('Path of the file to create or overwrite.'),
  content: z.string().describe('The complete new content of the file.'),
});

/**
 * Write: creates a file or replaces its whole content, creating parent directories. The write is
 * atomic (temporary file, then rename) and keeps an existing file's permission bits; a symbolic link
 * is written through to its target.
 */
export function createWriteTool(): Tool<z.output<typeof inputSchema>, WriteToolData> {
  return defineTool({
    name: 'Write',
    aliases: ['write', 'write_file', 'create_file'],
    description:
      'Create a file, or overwrite one with entirely new content. Parent directories are created. To change ' +
      'part of an existing file, use Edit instead; Read a file before overwriting it.',
    inputSchema,
    kind: 'write',
    inputAliases: {
      path: 'file_path',
      filePath: 'file_path',
      filename: 'file_path',
      text: 'content',
      contents: 'content',
    },
    permissionTarget: (input) => ({ type: 'path', path: input.file_path }),
    async execute(input, context) {
      throwIfToolAborted(context.signal, 'Write');
      const file = await resolvePhysicalPath(input.file_path, context.cwd);
      const shown = displayPath(file, context.cwd);
      const stats = await stat(file).catch(() => undefined);
      if (stats?.isDirectory()) {
        throw new FileAccessError(
          'not_a_file',
          file,
          `${shown} is a directory; give the path of a file inside it.`,
        );
      }
      await mkdir(path.dirname(file), { recursive: true });
      throwIfToolAborted(context.signal, 'Write');
      const { existed } = await writeFileAtomic(file, input.content);
      const bytes = Buffer.byteLength(input.content);
      const lines =
        input.content === '' ? 0 : input.content.split('\n').length - (input.content.endsWith('\n') ? 1 : 0);
      return {
        text: `${existed ? 'Overwrote' : 'Created'} ${shown} (${lines} lines, ${bytes} bytes).`,
        data: { path: file, created: !existed, bytes },
      };
    },
  });
}
