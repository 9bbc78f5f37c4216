// Records real tool-call outputs of the local model for the parser's corpus.
//
//   cd packages/tools && node --import tsx scripts/record-tool-call-corpus.ts [--variant fp32] [--max-tokens 96]
//
// Each question below needs Read, Glob or Grep. The model gets exactly the request the tool loop's
// text strategy sends (the loop's tool system prompt added to our instructions, `<tool_response>` as a
// stop string), once greedy and twice sampled, and its raw text goes to
// src/fixtures/tool-calls/real/<question>-<sampling>.txt. What was asked, of which model and variant,
// with which seed and temperature, and when, goes to real/provenance.json; the system prompt, which is
// the same for every file, to real/system-prompt.txt. Expectations (real/expected.json) are written by
// hand after looking at the outputs: the script never writes them.
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { Generator, snapshotDir } from '@shammah/core-inference';
import type { ChatMessage } from '@shammah/provider';
import { createGlobTool } from '../src/glob-tool.js';
import { createGrepTool } from '../src/grep-tool.js';
import { createReadTool } from '../src/read-tool.js';
import { textToolCalls } from '../src/tool-call-strategy.js';
import { ToolSet } from '../src/tool-set.js';

const MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';
const INSTRUCTIONS = 'You are a helpful coding assistant. Use the tools to look at files before answering.';

/** Questions a coding assistant gets that need Read, Glob or Grep; the id names the fixture. */
const QUESTIONS: ReadonlyArray<{ id: string; tool: 'Read' | 'Glob' | 'Grep'; question: string }> = [
  { id: 'read-notes', tool: 'Read', question: 'What is the launch code written in notes.txt?' },
  { id: 'read-readme', tool: 'Read', question: 'What does README.md say about installing the project?' },
  { id: 'read-package', tool: 'Read', question: 'Read package.json and tell me the version of the project.' },
  { id: 'read-source', tool: 'Read', question: 'Show me what src/index.ts exports.' },
  { id: 'glob-typescript', tool: 'Glob', question: 'Find all TypeScript files in the src directory.' },
  { id: 'glob-markdown', tool: 'Glob', question: 'List every Markdown file in this repository.' },
  { id: 'glob-tests', tool: 'Glob', question: 'Which test files are there under the tests folder?' },
  { id: 'grep-todo', tool: 'Grep', question: 'Search the code for TODO comments.' },
  { id: 'grep-definition', tool: 'Grep', question: 'Where is the function parseConfig defined?' },
  { id: 'grep-imports', tool: 'Grep', question: 'Find every file that imports lodash.' },
];

/** Greedy, then two sampled runs; the seed makes a sampled run reproducible on the same variant. */
const SAMPLINGS: ReadonlyArray<{ id: string; temperature: number; seed?: number }> = [
  { id: 'greedy', temperature: 0 },
  { id: 't07-s1', temperature: 0.7, seed: 1 },
  { id: 't10-s2', temperature: 1.0, seed: 2 },
];

const { values } = parseArgs({
  options: {
    variant: { type: 'string', default: 'fp32' },
    'max-tokens': { type: 'string', default: '96' },
    model: { type: 'string' },
  },
});
const maxTokens = Number(values['max-tokens']);
if (!Number.isInteger(maxTokens) || maxTokens < 1) {
  throw new Error(`--max-tokens must be a positive whole number, got "${values['max-tokens']}"`);
}

const output = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/fixtures/tool-calls/real');
const modelDir = values.model ?? process.env.SHAMMAH_TEST_MODEL ?? (await snapshotDir(MODEL));
if (!modelDir) throw new Error(`${MODEL} is not in the Hugging Face cache: run pnpm models:dev`);

const tools = new ToolSet([createReadTool(), createGlobTool(), createGrepTool()]);
const strategy = textToolCalls();
const generator = await Generator.load({ model: modelDir, variant: values.variant });
const status = generator.status;
const variant = status.state === 'ready' ? status.variant : String(values.variant);

await rm(output, { recursive: true, force: true });
await mkdir(output, { recursive: true });

let systemPrompt: string | undefined;
const entries: Record<string, unknown> = {};
try {
  for (const { id, tool, question } of QUESTIONS) {
    for (const sampling of SAMPLINGS) {
      const messages: ChatMessage[] = [
        { role: 'system', content: INSTRUCTIONS },
        { role: 'user', content: question },
      ];
      const request = strategy.prepareRequest(
        {
          messages,
          maxTokens,
          temperature: sampling.temperature,
          ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
        },
        tools,
      );
      const system = request.messages[0];
      if (system?.role !== 'system' || typeof system.content !== 'string')
        throw new Error('the text strategy did not produce a system message');
      if (systemPrompt !== undefined && systemPrompt !== system.content)
        throw new Error('the system prompt changed between questions');
      systemPrompt = system.content;

      let text = '';
      let finishReason = '';
      let outputTokens = 0;
      for await (const part of generator.stream(request)) {
        if (part.type === 'text-delta') text += part.text;
        if (part.type === 'finish') {
          finishReason = part.finishReason;
          outputTokens = part.usage.outputTokens;
        }
      }
      const file = `${id}-${sampling.id}.txt`;
      await writeFile(path.join(output, file), text);
      entries[file] = {
        question,
        expectedTool: tool,
        temperature: sampling.temperature,
        ...(sampling.seed === undefined ? {} : { seed: sampling.seed }),
        maxTokens,
        stop: request.stop,
        finishReason,
        outputTokens,
      };
      process.stdout.write(`${file} (${finishReason}, ${outputTokens} tokens): ${JSON.stringify(text)}\n`);
    }
  }
} finally {
  await generator.dispose();
}

const system = systemPrompt ?? '';
await writeFile(path.join(output, 'system-prompt.txt'), system);
const corePackage = JSON.parse(
  await readFile(new URL(import.meta.resolve('@shammah/core-inference/package.json')), 'utf8'),
) as { version: string };
await writeFile(
  path.join(output, 'provenance.json'),
  `${JSON.stringify(
    {
      note: 'Raw outputs of the real model, recorded by scripts/record-tool-call-corpus.ts; not edited.',
      model: MODEL,
      revision: path.basename(modelDir),
      variant,
      runtime: `@shammah/core-inference ${corePackage.version} (onnxruntime-node, CPU)`,
      recordedAt: new Date().toISOString(),
      systemPrompt: {
        file: 'system-prompt.txt',
        sha256: createHash('sha256').update(system).digest('hex'),
      },
      files: entries,
    },
    null,
    2,
  )}\n`,
);
process.stdout.write(`wrote ${Object.keys(entries).length} outputs to ${output}\n`);
