import { describe, expect, it } from 'vitest';
import type { ChatStreamPart } from './chat-model.js';
import { collectStream, contentText } from './collect-stream.js';
import { ApiCallError, ContextLengthError } from './errors.js';

async function* parts(list: ChatStreamPart[]): AsyncIterable<ChatStreamPart> {
  yield* list;
}

describe('collectStream', () => {
  it('folds text, tool calls, logprobs and the finish part into one result', async () => {
    const result = await collectStream(
      parts([
        { type: 'text-delta', text: 'Hel' },
        { type: 'text-delta', text: 'lo' },
        { type: 'logprobs', logprobs: [{ token: 'Hel', logprob: -0.1 }] },
        { type: 'tool-call', id: 'c1', name: 'read', input: { file_path: 'a' } },
        {
          type: 'finish',
          finishReason: 'tool-calls',
          usage: { inputTokens: 3, outputTokens: 2 },
          modelId: 'm',
        },
      ]),
    );
    expect(result).toEqual({
      text: 'Hello',
      toolCalls: [{ id: 'c1', name: 'read', input: { file_path: 'a' } }],
      finishReason: 'tool-calls',
      usage: { inputTokens: 3, outputTokens: 2 },
      modelId: 'm',
      logprobs: [{ token: 'Hel', logprob: -0.1 }],
    });
  });

  it('keeps the stop string that ended the answer', async () => {
    const result = await collectStream(
      parts([
        { type: 'text-delta', text: 'The capital is' },
        {
          type: 'finish',
          finishReason: 'stop',
          stopSequence: ' Paris',
          usage: { inputTokens: 5, outputTokens: 4 },
        },
      ]),
    );
    expect(result.stopSequence).toBe(' Paris');
    expect(result.text).toBe('The capital is');
  });

  it('drops an abandoned answer when a router restarts it with another model', async () => {
    const result = await collectStream(
      parts([
        {
          type: 'route',
          route: 'local',
          provider: 'local',
          model: 'small',
          reason: 'local-default',
          message: '',
        },
        { type: 'text-delta', text: 'half an answ' },
        {
          type: 'route',
          route: 'teacher',
          provider: 'anthropic',
          model: 'big',
          reason: 'local-error-mid-stream',
          message: '',
          restart: true,
        },
        { type: 'text-delta', text: 'A whole answer.' },
        { type: 'finish', finishReason: 'stop', usage: { inputTokens: 1, outputTokens: 3 } },
      ]),
    );
    expect(result.text).toBe('A whole answer.');
  });

  it('refuses a stream that ended without finishing', async () => {
    await expect(collectStream(parts([{ type: 'text-delta', text: 'cut' }]))).rejects.toThrow(
      /without a finish part/,
    );
  });
});

describe('errors and helpers', () => {
  it('says which API errors are worth retrying', () => {
    expect(
      new ApiCallError('slow down', { kind: 'rate-limit', provider: 'openai', statusCode: 429 }).isRetryable,
    ).toBe(true);
    expect(
      new ApiCallError('bad key', { kind: 'auth', provider: 'openai', statusCode: 401 }).isRetryable,
    ).toBe(false);
    expect(new ApiCallError('x', { kind: 'auth', provider: 'p' }).code).toBe('api_auth');
  });

  it('states both numbers when a prompt is too long', () => {
    const error = new ContextLengthError(9000, 8192);
    expect(error.message).toContain('9000');
    expect(error.message).toContain('8192');
    expect(error.code).toBe('context_too_long');
  });

  it('joins the text parts of a content array', () => {
    expect(contentText([{ type: 'text', text: 'a' }, { type: 'image' }, { type: 'text', text: 'b' }])).toBe(
      'ab',
    );
  });
});
