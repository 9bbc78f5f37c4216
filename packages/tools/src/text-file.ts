import { open, readdir } from 'node:fs/promises';
import path from 'node:path';

const SIGNATURES: Array<[string, number[]]> = [
  ['PNG image', [0x89, 0x50, 0x4e, 0x47]],
  ['JPEG image', [0xff, 0xd8, 0xff]],
  ['GIF image', [0x47, 0x49, 0x46, 0x38]],
  ['PDF document', [0x25, 0x50, 0x44, 0x46]],
  ['ZIP archive', [0x50, 0x4b, 0x03, 0x04]],
  ['gzip archive', [0x1f, 0x8b]],
  ['ELF executable', [0x7f, 0x45, 0x4c, 0x46]],
  ['WebAssembly module', [0x00, 0x61, 0x73, 0x6d]],
];

/**
 * Whether the first bytes of a file look binary (a NUL byte, or many control characters), and what
 * kind of file it seems to be.
 */
export function detectBinary(head: Uint8Array): { binary: boolean; kind: string } {
  for (const [kind, signature] of SIGNATURES) {
    if (signature.every((byte, index) => head[index] === byte)) return { binary: true, kind };
  }
  let control = 0;
  for (const byte of head) {
    if (byte === 0) return { binary: true, kind: 'binary file' };
    if (byte < 7 || (byte > 13 && byte < 32 && byte !== 27)) control++;
  }
  return { binary: head.length > 0 && control / head.length > 0.1, kind: 'binary file' };
}

/** Reads up to `bytes` bytes from the start of a file. */
export async function readHead(file: string, bytes = 8192): Promise<Uint8Array> {
  const handle = await open(file, 'r');
  try {
    const buffer = new Uint8Array(bytes);
    const { bytesRead } = await handle.read(buffer, 0, bytes, 0);
    return buffer.subarray(0, bytesRead);
  } finally {
    await handle.close();
  }
}

/** Names in the file's directory that look like what was meant (other case or extension), for hints. */
export async function similarFileNames(file: string, limit = 3): Promise<string[]> {
  const directory = path.dirname(file);
  const wanted = path.basename(file).toLowerCase();
  const stem = wanted.replace(/\.[^.]*$/, '');
  try {
    const entries = await readdir(directory);
    return entries
      .filter((entry) => {
        const lower = entry.toLowerCase();
        return (
          lower === wanted ||
          lower.replace(/\.[^.]*$/, '') === stem ||
          (stem.length >= 3 && lower.startsWith(stem))
        );
      })
      .slice(0, limit)
      .map((entry) => path.join(directory, entry));
  } catch {
    return [];
  }
}
