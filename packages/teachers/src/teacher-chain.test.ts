import { type ApiCallError, type ChatModel, collectStream } from '@shammah/provider';
import { afterAll, beforeAll, beforeEach, describe, expect, test } from 'vitest';
import { createAnthropicTeacher } from './anthropic-teacher.js';
import { AllTeachersFailedError } from './errors.js';
import { createOpenAITeacher } from './openai-compatible-teachers.js';
import { TeacherChain } from './teacher-chain.js';
import { StubServer } from './test-support/stub-server.js';
import { anthropic, openAI } from './test-support/wire-protocols.js';

const question = { messages: [{ role: 'user' as const, content: 'What is the capital of France?' }] };

describe('TeacherChain', () => {
  let claudeServer: StubServer;
  let openAIServer: StubServer;
  const chain = (options: ConstructorParameters<typeof TeacherChain>[1] = {}) =>
    new TeacherChain(
      [
        createAnthropicTeacher({
          apiKey: anthropic.apiKey,
          baseURL: claudeServer.url,
          name: 'Claude',
          retry: { maxRetries: 0 },
        }),
        createOpenAITeacher({
          apiKey: openAI.apiKey,
          baseURL: `${openAIServer.url}/v1`,
          name: 'GPT',
          retry: { maxRetries: 0 },
        }),
      ],
      options,
    );

  beforeAll(async () => {
    claudeServer = await StubServer.start();
    openAIServer = await StubServer.start();
  });
  afterAll(async () => {
    await claudeServer.close();
    await openAIServer.close();
  });
  beforeEach(() => {
    claudeServer.reset();
    openAIServer.reset();
  });

  test('the primary answers when it can', async () => {
    claudeServer.reply(anthropic.plain(false));
    const result = await chain().generate(question);
    expect(result.teacher).toBe('Claude');
    expect(result.provider).toBe('anthropic');
    expect(result.failures).toEqual([]);
    expect(openAIServer.requests).toHaveLength(0);
  });

  test('a rate-limited primary falls through to the fallback, which is reported', async () => {
    claudeServer.reply(anthropic.error('rate-limit', 120));
    openAIServer.reply(openAI.plain(false));
    const fallbacks: string[] = [];
    const result = await chain({
      onFallback: ({ from, to }) => fallbacks.push(`${from.modelId}->${to.modelId}`),
    }).generate(question);
    expect(result.teacher).toBe('GPT');
    expect(result.text).toBe('The capital of France is Paris.');
    expect(result.modelId).toBe('gpt-4.1-2025-04-14');
    expect(result.failures).toHaveLength(1);
    expect((result.failures[0]!.error as ApiCallError).kind).toBe('rate-limit');
    expect(fallbacks).toEqual(['claude-sonnet-5-5->gpt-5.4']);
  });

  test('an auth failure falls through too, also when streaming', async () => {
    claudeServer.reply(anthropic.error('auth'));
    openAIServer.reply(openAI.plain(true));
    const teachers = chain();
    const result = await collectStream(teachers.stream(question));
    expect(result.text).toBe('The capital of France is Paris.');
    expect(result.modelId).toBe('gpt-4.1-2025-04-14');
    expect((teachers.lastAnswered as ChatModel).provider).toBe('openai');
  });

  test('a context-too-long error is thrown at once, since every teacher would refuse it', async () => {
    claudeServer.reply(anthropic.error('context-too-long'));
    const error = await chain()
      .generate(question)
      .catch((caught: unknown) => caught);
    expect((error as ApiCallError).kind).toBe('context-too-long');
    expect(openAIServer.requests).toHaveLength(0);
  });

  test('when every teacher fails, the error lists each failure', async () => {
    claudeServer.reply(anthropic.error('auth'));
    openAIServer.reply(openAI.error('rate-limit', 300));
    const error = await chain()
      .generate(question)
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(AllTeachersFailedError);
    const failures = (error as AllTeachersFailedError).failures;
    expect(failures.map(({ teacher }) => teacher)).toEqual(['Claude', 'GPT']);
    expect((error as Error).message).toMatch(/Claude: Anthropic.*rejected the credentials/);
    expect((error as Error).message).not.toContain(anthropic.apiKey);
  });
});
