// Compaction with the real SmolLM2-135M-Instruct writing the summary, tokens counted with its own
// tokenizer. The 135M model's summary is not always good; what must hold is that it is a summary
// (model-written, non-empty), that the result fits, and that the last turns survive word for word.
import { Generator, snapshotDir } from '@shammah/core-inference';
import type { ChatMessage } from '@shammah/provider';
import { contentText } from '@shammah/provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { COMPACTION_SUMMARY_HEADER, compactConversation } from './compaction.js';
import { countMessageTokens } from './token-count.js';

const MODEL = 'HuggingFaceTB/SmolLM2-135M-Instruct';

describe('compaction with the real SmolLM2-135M-Instruct', () => {
  let generator: Generator;

  beforeAll(async () => {
    const dir = process.env.SHAMMAH_TEST_MODEL ?? (await snapshotDir(MODEL));
    if (!dir) throw new Error(`${MODEL} is not installed: run pnpm models:dev`);
    generator = await Generator.load({ model: dir, variant: 'fp32' });
  });
  afterAll(async () => {
    await generator?.dispose();
  });

  it('summarises the older turns of a conversation that outgrew its budget', async () => {
    const count = (text: string) => generator.tokenizer.encode(text).length;
    const messages: ChatMessage[] = [
      { role: 'system', content: 'You are Shammah, a coding assistant.' },
      { role: 'user', content: 'My web server in server.js listens on port 3000. I want it on port 8080.' },
      {
        role: 'assistant',
        content: [{ type: 'tool-call', id: 'c1', name: 'Read', input: { file_path: 'server.js' } }],
      },
      {
        role: 'tool',
        content: [
          {
            type: 'tool-result',
            toolCallId: 'c1',
            toolName: 'Read',
            content: `const http = require('http');\nconst server = http.createServer(handler);\nserver.listen(3000);\n${'// request handler code\n'.repeat(30)}`,
          },
        ],
      },
      { role: 'assistant', content: 'server.js calls server.listen(3000). I will change it to 8080.' },
      { role: 'user', content: 'Also the README mentions port 3000.' },
      { role: 'assistant', content: 'Then the README needs the new port as well.' },
      { role: 'user', content: 'Please make both changes now.' },
    ];
    const before = countMessageTokens(messages, count);
    const maxTokens = Math.floor(before * 0.6);
    const started = Date.now();
    const result = await compactConversation({
      messages,
      summarizer: generator,
      maxTokens,
      countTokens: count,
      keepRecentTokens: 60,
      summaryMaxTokens: 64,
    });
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const compaction = result.compaction!;
    expect(compaction.method).toBe('summary');
    expect(compaction.summary.trim().length).toBeGreaterThan(0);
    expect(compaction.tokensAfter).toBeLessThanOrEqual(maxTokens);
    expect(compaction.tokensAfter).toBe(countMessageTokens(result.messages, count));
    expect(result.messages[0]).toEqual(messages[0]);
    expect(contentText(result.messages[1]!.content).startsWith(COMPACTION_SUMMARY_HEADER)).toBe(true);
    expect(result.messages.at(-1)).toEqual({ role: 'user', content: 'Please make both changes now.' });
    console.log(
      `SmolLM2-135M summarised ${compaction.removedMessages} messages (${before} → ${compaction.tokensAfter} tokens) in ${seconds} s: ${JSON.stringify(compaction.summary)}`,
    );
  }, 300_000);
});
