import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { shammahPaths } from '@shammah/config';
import { type Logger, silentLogger } from '@shammah/provider';
import { ExampleTooLargeError, InvalidExampleError } from './errors.js';
import { FileLock } from './file-lock.js';
import { decodeExampleLine, encodeExampleLine } from './queue-format.js';
import type { WeightedExample } from './weighted-example.js';

/**
 * The largest queue line, in bytes. One `write()` with `O_APPEND` of a regular file is applied
 * whole and at the end of the file, never interleaved with another process's; what can still
 * happen is a short write (disk full, a crash) — a torn line the reader skips. Lines are kept well
 * under any size where that would be likely; longer conversations lose their oldest messages first
 * (training cuts them anyway).
 */
export const MAX_LINE_BYTES = 64 * 1024;

/** Settings of a {@link TrainingQueue}. */
export interface TrainingQueueOptions {
  /** The queue file. Default: `training_queue.jsonl` in Shammah's home. */
  path?: string;
  /** Shammah's home, when `path` is not given. Default: `SHAMMAH_HOME`, else `~/.shammah`. */
  home?: string;
  /** Default {@link MAX_LINE_BYTES}. */
  maxLineBytes?: number;
  /** Flush each append to disk before returning. Default true. */
  durable?: boolean;
  logger?: Logger;
}

/** A line of the queue that could not be read, and why. */
export interface SkippedLine {
  /** 1-based line number. */
  line: number;
  /** Byte offset of the line in the file. */
  offset: number;
  bytes: number;
  reason: string;
  /** The first 120 characters of the line. */
  preview: string;
}

/** Everything read from the queue. */
export interface QueueContents {
  /** In the order they were appended, each id once. */
  examples: WeightedExample[];
  /** Lines that could not be read (torn by a crash, edited by hand, from a newer Shammah). */
  skipped: SkippedLine[];
  /** Lines repeating an id already read (an append retried across a compaction). */
  duplicates: number;
  bytes: number;
}

/** What {@link TrainingQueue.compact} did. */
export interface CompactResult {
  kept: number;
  removed: number;
  skipped: number;
  duplicates: number;
  bytesBefore: number;
  bytesAfter: number;
}

/** Which examples {@link TrainingQueue.compact} keeps. */
export interface CompactOptions {
  /** Keep only the examples this returns true for. Default: all. */
  keep?: (example: WeightedExample) => boolean;
  /** Then keep at most this many, the most recent. */
  maxExamples?: number;
}

interface ParsedLines {
  examples: WeightedExample[];
  skipped: SkippedLine[];
  duplicates: number;
}

/** Every line's record marker: lines are written with `v` first. */
const RECORD_START = '{"v":';

function parseLines(buffer: Buffer, seen: Set<string>): ParsedLines {
  const result: ParsedLines = { examples: [], skipped: [], duplicates: 0 };
  let offset = 0;
  let number = 0;
  const take = (example: WeightedExample) => {
    if (seen.has(example.id)) {
      result.duplicates++;
      return;
    }
    seen.add(example.id);
    result.examples.push(example);
  };
  while (offset < buffer.length) {
    let end = buffer.indexOf(0x0a, offset);
    if (end === -1) end = buffer.length;
    number++;
    const text = buffer.toString('utf8', offset, end);
    const lineOffset = offset;
    const bytes = end - offset;
    offset = end + 1;
    if (text.trim() === '') continue;
    try {
      take(decodeExampleLine(text));
    } catch (error) {
      // A torn line (a crash mid-write) followed by a complete one on the same line: recover the
      // complete record and report the torn part.
      const start = text.lastIndexOf(RECORD_START);
      let recovered = false;
      if (start > 0) {
        try {
          take(decodeExampleLine(text.slice(start)));
          recovered = true;
        } catch {
          // Nothing to recover.
        }
      }
      const torn = recovered || end === buffer.length;
      result.skipped.push({
        line: number,
        offset: lineOffset,
        bytes: recovered ? Buffer.byteLength(text.slice(0, start)) : bytes,
        reason: torn
          ? `incomplete line (a write was interrupted): ${(error as Error).message}`
          : (error as Error).message,
        preview: text.slice(0, 120),
      });
    }
  }
  return result;
}

/**
 * The training queue: an append-only JSONL file of {@link WeightedExample}s, shared by the daemon and
 * any number of CLIs. Appends take no lock: each example is one `write()` of one line with
 * `O_APPEND`, so concurrent writers never interleave. A line torn by a crash is skipped and
 * reported when reading, never fatal. Rewriting the file ({@link compact}) takes a lock file and
 * loses no append made meanwhile.
 *
 * The file is compatible with the original Shammah's `training_queue.jsonl` (see {@link decodeExampleLine}).
 *
 * @example
 * ```ts
 * import { createExample, createTrainingQueue } from '@shammah/lora';
 *
 * const queue = createTrainingQueue({ home: '/tmp/shammah-home' });
 * await queue.append(createExample({ query: 'What is 2 + 2?', response: '4.', level: 'critical' }));
 * const { examples, skipped } = await queue.read();
 * ```
 */
export class TrainingQueue {
  /** The queue file. */
  readonly path: string;
  readonly #maxLineBytes: number;
  readonly #durable: boolean;
  readonly #log: Logger;

  constructor(options: TrainingQueueOptions = {}) {
    this.path = options.path ?? shammahPaths(options.home).trainingQueue;
    this.#maxLineBytes = options.maxLineBytes ?? MAX_LINE_BYTES;
    this.#durable = options.durable ?? true;
    this.#log = (options.logger ?? silentLogger).child({ module: 'training-queue' });
  }

  /**
   * Appends one example and returns it as stored: a conversation too long for one atomic line loses
   * its oldest messages (and the rejected answer) first. Throws {@link ExampleTooLargeError} when
   * even the last message and the response do not fit.
   */
  async append(example: WeightedExample): Promise<WeightedExample> {
    const stored = this.#fit(example);
    const line = Buffer.from(encodeExampleLine(stored));
    await mkdir(dirname(this.path), { recursive: true });
    for (let attempt = 0; attempt < 5; attempt++) {
      const handle = await open(this.path, 'a+', 0o600);
      try {
        const before = await handle.stat();
        let data = line;
        if (before.size > 0) {
          // After a torn line, start on a fresh line so this record stays readable on its own.
          const last = Buffer.alloc(1);
          await handle.read(last, 0, 1, before.size - 1);
          if (last[0] !== 0x0a) data = Buffer.concat([Buffer.from('\n'), line]);
        }
        const { bytesWritten } = await handle.write(data, 0, data.length);
        if (bytesWritten !== data.length) {
          throw new Error(
            `Only ${bytesWritten} of ${data.length} bytes reached ${this.path} (is the disk full?); the example was not saved.`,
          );
        }
        if (this.#durable) await handle.datasync();
        // A compaction may have replaced the file between open() and write(): then this line went
        // to the old file, and goes again to the new one (readers drop the duplicate by id).
        const current = await stat(this.path).catch(() => undefined);
        if (current && current.ino === before.ino) return stored;
        this.#log.debug({ id: stored.id, attempt }, 'queue file replaced during append; appending again');
      } finally {
        await handle.close();
      }
    }
    throw new Error(`The training queue ${this.path} kept being replaced while appending; try again.`);
  }

  #fit(example: WeightedExample): WeightedExample {
    const size = (candidate: WeightedExample) => Buffer.byteLength(encodeExampleLine(candidate));
    let fitted = example;
    if (size(fitted) <= this.#maxLineBytes) return fitted;
    if (fitted.rejectedResponse !== undefined) {
      const { rejectedResponse: _dropped, ...rest } = fitted;
      fitted = rest;
    }
    const messages = [...fitted.messages];
    const nonSystem = () => messages.filter((message) => message.role !== 'system').length;
    while (size({ ...fitted, messages }) > this.#maxLineBytes && nonSystem() > 1) {
      messages.splice(
        messages.findIndex((message) => message.role !== 'system'),
        1,
      );
      // A conversation resumes with a user message.
      while (nonSystem() > 1 && messages.find((message) => message.role !== 'system')?.role !== 'user') {
        messages.splice(
          messages.findIndex((message) => message.role !== 'system'),
          1,
        );
      }
    }
    fitted = { ...fitted, messages };
    if (!messages.some((message) => message.role === 'user')) {
      throw new InvalidExampleError('The example has no user message left to answer.');
    }
    const bytes = size(fitted);
    if (bytes > this.#maxLineBytes) throw new ExampleTooLargeError(bytes, this.#maxLineBytes);
    this.#log.debug(
      { id: example.id, dropped: example.messages.length - messages.length },
      'trimmed example',
    );
    return fitted;
  }

  /** Reads every example; unreadable lines are returned in `skipped` and logged, never thrown. */
  async read(): Promise<QueueContents> {
    let buffer: Buffer;
    try {
      buffer = await readFile(this.path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        return { examples: [], skipped: [], duplicates: 0, bytes: 0 };
      }
      throw error;
    }
    const parsed = parseLines(buffer, new Set());
    if (parsed.skipped.length > 0) {
      this.#log.warn(
        { path: this.path, skipped: parsed.skipped.map(({ line, reason }) => ({ line, reason })) },
        `skipped ${parsed.skipped.length} unreadable line(s) of the training queue`,
      );
    }
    return { ...parsed, bytes: buffer.length };
  }

  /**
   * Rewrites the queue without unreadable lines and duplicates, keeping the examples `keep` accepts
   * (the latest `maxExamples`). Holds `<queue>.lock`; appends made meanwhile are carried over.
   */
  async compact(options: CompactOptions = {}): Promise<CompactResult> {
    const lock = await FileLock.acquire(`${this.path}.lock`, {
      purpose: 'queue compaction',
      timeoutMs: 10_000,
    });
    let old: Awaited<ReturnType<typeof open>> | undefined;
    try {
      try {
        old = await open(this.path, 'r');
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
          return { kept: 0, removed: 0, skipped: 0, duplicates: 0, bytesBefore: 0, bytesAfter: 0 };
        }
        throw error;
      }
      const size = (await old.stat()).size;
      const buffer = Buffer.alloc(size);
      if (size > 0) await old.read(buffer, 0, size, 0);
      const seen = new Set<string>();
      const parsed = parseLines(buffer, seen);
      let kept = options.keep ? parsed.examples.filter(options.keep) : parsed.examples;
      if (options.maxExamples !== undefined)
        kept = kept.slice(Math.max(0, kept.length - options.maxExamples));
      const text = kept.map(encodeExampleLine).join('');
      const temp = join(dirname(this.path), `.${basename(this.path)}.${randomBytes(6).toString('hex')}.tmp`);
      const out = await open(temp, 'w', 0o600);
      try {
        await out.writeFile(text);
        await out.sync();
      } finally {
        await out.close();
      }
      try {
        await rename(temp, this.path);
      } catch (error) {
        await rm(temp, { force: true });
        throw error;
      }
      // Appends that reached the old file after it was read move to the new one.
      const after = (await old.stat()).size;
      let carried = 0;
      if (after > size) {
        const tail = Buffer.alloc(after - size);
        await old.read(tail, 0, tail.length, size);
        for (const example of parseLines(tail, seen).examples) {
          await this.append(example);
          carried++;
        }
      }
      const result: CompactResult = {
        kept: kept.length + carried,
        removed: parsed.examples.length - kept.length,
        skipped: parsed.skipped.length,
        duplicates: parsed.duplicates,
        bytesBefore: size,
        bytesAfter: (await stat(this.path)).size,
      };
      this.#log.info(result, 'compacted the training queue');
      return result;
    } finally {
      await old?.close();
      await lock.release();
    }
  }
}

/** Creates the {@link TrainingQueue} in Shammah's home (or at `path`). */
export function createTrainingQueue(options: TrainingQueueOptions = {}): TrainingQueue {
  return new TrainingQueue(options);
}
