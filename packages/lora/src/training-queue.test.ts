import { spawn } from 'node:child_process';
import { appendFile, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExampleTooLargeError } from './errors.js';
import { encodeExampleLine } from './queue-format.js';
import { MAX_LINE_BYTES, TrainingQueue } from './training-queue.js';
import { createExample } from './weighted-example.js';

let dir: string;
let queue: TrainingQueue;
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'shammah-queue-'));
  queue = new TrainingQueue({ path: join(dir, 'training_queue.jsonl') });
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

const example = (id: string, response = `answer ${id}`) =>
  createExample({ id, query: `question ${id}`, response, weight: 3 });

/** Runs a real process that appends `count` examples; resolves with its exit code. */
function writer(path: string, name: string, count: number, signalAfter?: number): Promise<number | null> {
  const script = `
    import { TrainingQueue, createExample } from ${JSON.stringify(new URL('./index.ts', import.meta.url).pathname)};
    const queue = new TrainingQueue({ path: ${JSON.stringify(path)} });
    const big = 'x'.repeat(50_000);
    for (let i = 0; i < ${count}; i++) {
      await queue.append(createExample({
        id: '${name}-' + i, query: 'q ${name} ' + i, response: i % 10 === 0 ? big + i : 'r ${name} ' + i, level: 'critical',
      }));
      if (i === ${signalAfter ?? -1}) console.log('half');
    }
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  if (signalAfter !== undefined) {
    child.stdout.on('data', (data: Buffer) => {
      if (data.toString().includes('half')) child.kill('SIGKILL');
    });
  }
  return new Promise((resolve) => child.on('exit', (code) => resolve(code)));
}

describe('TrainingQueue', () => {
  it('appends examples and reads them back in order; the file is private to the user', async () => {
    expect(await queue.read()).toEqual({ examples: [], skipped: [], duplicates: 0, bytes: 0 });
    const a = await queue.append(example('a'));
    const b = await queue.append(example('b'));
    const contents = await queue.read();
    expect(contents.examples).toEqual([a, b]);
    expect(contents.skipped).toEqual([]);
    expect((await stat(queue.path)).mode & 0o777).toBe(0o600);
  });

  it("reads the original Shammah's training_queue.jsonl", async () => {
    await writeFile(
      queue.path,
      [
        '{"query": "How do I exit vim?", "response": "Press Esc, then type :q! and Enter.", "weight": 10.0, "feedback": "critical"}',
        '{"query": "List files", "response": "Use `ls -la`.", "weight": 3.0, "feedback": "medium"}',
        '{"query": "Hi", "response": "Hello!", "weight": 1.0, "feedback": "good"}',
        '',
      ].join('\n'),
    );
    await queue.append(example('new'));
    const { examples, skipped } = await queue.read();
    expect(skipped).toEqual([]);
    expect(examples.map((e) => [e.weight, e.response])).toEqual([
      [10, 'Press Esc, then type :q! and Enter.'],
      [3, 'Use `ls -la`.'],
      [1, 'Hello!'],
      [3, 'answer new'],
    ]);
  });

  it('skips and reports a line torn by a crash, and later appends stay readable', async () => {
    await queue.append(example('a'));
    const torn = encodeExampleLine(example('torn')).slice(0, 40);
    await appendFile(queue.path, torn); // a writer died mid-write: no newline
    let contents = await queue.read();
    expect(contents.examples.map((e) => e.id)).toEqual(['a']);
    expect(contents.skipped).toEqual([
      expect.objectContaining({ line: 2, reason: expect.stringMatching(/^incomplete line/), preview: torn }),
    ]);
    await queue.append(example('b'));
    contents = await queue.read();
    expect(contents.examples.map((e) => e.id)).toEqual(['a', 'b']);
    expect(contents.skipped).toHaveLength(1);
  });

  it('recovers a complete record written right after a torn one on the same line', async () => {
    const torn = encodeExampleLine(example('torn')).slice(0, 60);
    await writeFile(queue.path, torn + encodeExampleLine(example('whole')));
    const { examples, skipped } = await queue.read();
    expect(examples.map((e) => e.id)).toEqual(['whole']);
    expect(skipped).toEqual([expect.objectContaining({ line: 1, bytes: 60 })]);
  });

  it('reports lines edited by hand or from a newer Shammah without failing', async () => {
    await writeFile(queue.path, 'not json\n{"v":9,"id":"future"}\n');
    await queue.append(example('a'));
    const { examples, skipped } = await queue.read();
    expect(examples.map((e) => e.id)).toEqual(['a']);
    expect(skipped.map((s) => [s.line, s.reason])).toEqual([
      [1, expect.stringMatching(/not valid JSON/)],
      [2, expect.stringMatching(/newer Shammah/)],
    ]);
  });

  it('drops the oldest turns of a conversation too long for one atomic line, keeping the system prompt', async () => {
    const turn = 'y'.repeat(20_000);
    const long = createExample({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: `first ${turn}` },
        { role: 'assistant', content: turn },
        { role: 'user', content: `second ${turn}` },
        { role: 'assistant', content: turn },
        { role: 'user', content: 'last question' },
      ],
      response: 'last answer',
      rejectedResponse: turn,
    });
    const stored = await queue.append(long);
    expect(stored.rejectedResponse).toBeUndefined();
    expect(stored.messages.map((m) => m.role)).toEqual(['system', 'user', 'assistant', 'user']);
    expect(stored.messages[1]!.content).toMatch(/^second/);
    const line = await readFile(queue.path);
    expect(line.length).toBeLessThanOrEqual(MAX_LINE_BYTES);
    expect((await queue.read()).examples).toEqual([stored]);
    await expect(queue.append(example('huge', 'z'.repeat(MAX_LINE_BYTES)))).rejects.toBeInstanceOf(
      ExampleTooLargeError,
    );
  });

  it('loses and tears nothing with concurrent writer processes and a compaction in between', async () => {
    const writers = Promise.all(['w1', 'w2', 'w3'].map((name) => writer(queue.path, name, 60)));
    let finished = false;
    void writers.then(() => {
      finished = true;
    });
    let compactions = 0;
    while (!finished) {
      await new Promise((resolve) => setTimeout(resolve, 30));
      await queue.compact();
      compactions++;
    }
    expect(await writers).toEqual([0, 0, 0]);
    const { examples, skipped } = await queue.read();
    expect(skipped).toEqual([]);
    const ids = examples.map((e) => e.id).sort();
    const expected = ['w1', 'w2', 'w3'].flatMap((name) =>
      Array.from({ length: 60 }, (_, i) => `${name}-${i}`),
    );
    expect(ids).toEqual(expected.sort());
    expect(examples.find((e) => e.id === 'w2-30')!.response).toBe(`${'x'.repeat(50_000)}30`);
    expect(compactions).toBeGreaterThan(0);
  });

  it('keeps every completed append of a writer killed mid-stream', async () => {
    expect(await writer(queue.path, 'k', 10_000, 25)).toBeNull();
    const { examples } = await queue.read();
    expect(examples.length).toBeGreaterThanOrEqual(26);
    expect(examples.slice(0, 26).map((e) => e.id)).toEqual(Array.from({ length: 26 }, (_, i) => `k-${i}`));
    await queue.append(example('after'));
    expect((await queue.read()).examples.at(-1)!.id).toBe('after');
  });

  it('compacts: drops unreadable lines and duplicates, keeps what is asked, under a lock', async () => {
    for (const id of ['a', 'b', 'c', 'd']) await queue.append(example(id));
    await appendFile(queue.path, `${encodeExampleLine(example('b'))}garbage\n`);
    const result = await queue.compact({ keep: (e) => e.id !== 'c', maxExamples: 2 });
    expect(result).toMatchObject({ kept: 2, removed: 2, skipped: 1, duplicates: 1 });
    expect(result.bytesAfter).toBeLessThan(result.bytesBefore);
    expect((await queue.read()).examples.map((e) => e.id)).toEqual(['b', 'd']);
    const { FileLock } = await import('./file-lock.js');
    const held = await FileLock.acquire(`${queue.path}.lock`, { purpose: 'test' });
    const blocked = new TrainingQueue({ path: queue.path });
    const started = Date.now();
    setTimeout(() => void held.release(), 300);
    await blocked.compact();
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });
});
