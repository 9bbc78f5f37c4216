import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { ShammahError } from '@shammah/provider';
import { answerOnce } from './one-shot.js';

const usage = `Usage: shammah [options] "question"
       echo "question" | shammah -p

Options:
  --model <repo|dir>   local model (default HuggingFaceTB/SmolLM2-135M-Instruct)
  --variant <name>     ONNX variant: auto, q4, int8, fp32 (default auto)
  --local              answer from the local model
  --max-tokens <n>     longest answer in tokens (default 512)
  --json               print one JSON object instead of text
  -p, --print          read the question from standard input
  -h, --help           show this help`;

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      model: { type: 'string' },
      variant: { type: 'string' },
      local: { type: 'boolean' },
      'max-tokens': { type: 'string' },
      json: { type: 'boolean' },
      print: { type: 'boolean', short: 'p' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) {
    process.stdout.write(`${usage}\n`);
    return;
  }
  let question = positionals.join(' ').trim();
  if (!question && (values.print || !process.stdin.isTTY)) question = readFileSync(0, 'utf8').trim();
  if (!question) {
    process.stderr.write(`shammah: no question given.\n${usage}\n`);
    process.exitCode = 2;
    return;
  }
  const maxTokens = values['max-tokens'] ? Number.parseInt(values['max-tokens'], 10) : undefined;
  if (maxTokens !== undefined && !(maxTokens > 0)) {
    process.stderr.write(
      `shammah: --max-tokens must be a positive whole number, not "${values['max-tokens']}".\n`,
    );
    process.exitCode = 2;
    return;
  }
  await answerOnce({
    question,
    model: values.model ?? 'HuggingFaceTB/SmolLM2-135M-Instruct',
    ...(values.variant ? { variant: values.variant } : {}),
    ...(maxTokens ? { maxTokens } : {}),
    ...(values.json ? { json: true } : {}),
  });
}

main().catch((error: unknown) => {
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`shammah: ${message}\n`);
  if (!ShammahError.is(error) && error instanceof Error && error.stack)
    process.stderr.write(`${error.stack}\n`);
  process.exitCode = 1;
});
