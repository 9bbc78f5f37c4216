import { Generator } from '@shammah/core-inference';
import type { ChatMessage } from '@shammah/provider';

/** What a one-shot question needs. */
export interface OneShotOptions {
  question: string;
  model: string;
  variant?: string;
  maxTokens?: number;
  json?: boolean;
  out?: NodeJS.WritableStream;
}

/** Answers one question from the local model, streaming the answer to `out`. */
export async function answerOnce(options: OneShotOptions): Promise<void> {
  const out = options.out ?? process.stdout;
  const generator = await Generator.load({
    model: options.model,
    ...(options.variant ? { variant: options.variant } : {}),
  });
  try {
    const messages: ChatMessage[] = [{ role: 'user', content: options.question }];
    let text = '';
    for await (const part of generator.stream({ messages, maxTokens: options.maxTokens ?? 512 })) {
      if (part.type === 'text-delta') {
        text += part.text;
        if (!options.json) out.write(part.text);
      } else if (part.type === 'finish') {
        if (options.json) {
          out.write(
            `${JSON.stringify({ answer: text, model: options.model, route: 'local', finishReason: part.finishReason, usage: part.usage, timings: part.timings })}\n`,
          );
        } else {
          out.write(text.endsWith('\n') ? '' : '\n');
        }
      }
    }
  } finally {
    await generator.dispose();
  }
}
