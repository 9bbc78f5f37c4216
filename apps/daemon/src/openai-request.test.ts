import { describe, expect, it } from 'vitest';
import { InvalidRequestError, UnsupportedContentError } from './errors.js';
import { toChatMessages, toChatRequest } from './openai-request.js';
import { chatCompletionRequestSchema } from './openai-schema.js';

const parse = (body: unknown) => chatCompletionRequestSchema.parse(body);

describe('OpenAI request mapping', () => {
  it('turns tool calls and their results into tool-call parts and one tool message', () => {
    const messages = toChatMessages(
      parse({
        model: 'm',
        messages: [
          { role: 'user', content: 'Weather in Paris and Rome?' },
          {
            role: 'assistant',
            content: null,
            tool_calls: [
              { id: 'c1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
              { id: 'c2', type: 'function', function: { name: 'weather', arguments: 'not json' } },
            ],
          },
          { role: 'tool', tool_call_id: 'c1', content: 'Sunny' },
          { role: 'tool', tool_call_id: 'c2', content: [{ type: 'text', text: 'Rain' }] },
        ],
      }).messages,
      { acceptsImages: false },
    );
    expect(messages[1]).toEqual({
      role: 'assistant',
      content: [
        { type: 'tool-call', id: 'c1', name: 'weather', input: { city: 'Paris' } },
        { type: 'tool-call', id: 'c2', name: 'weather', input: 'not json' },
      ],
    });
    expect(messages[2]).toEqual({
      role: 'tool',
      content: [
        { type: 'tool-result', toolCallId: 'c1', toolName: 'weather', content: 'Sunny' },
        { type: 'tool-result', toolCallId: 'c2', toolName: 'weather', content: 'Rain' },
      ],
    });
  });

  it('maps sampling settings, stop as a string, and max_completion_tokens over max_tokens', () => {
    const request = toChatRequest(
      parse({
        model: 'm',
        messages: [
          { role: 'developer', content: 'Be brief.' },
          { role: 'user', content: 'Hi' },
        ],
        temperature: 0.2,
        top_p: 0.9,
        max_tokens: 100,
        max_completion_tokens: 50,
        stop: 'END',
        seed: 7,
        presence_penalty: 0.5,
      }),
      { acceptsImages: false },
    );
    expect(request).toMatchObject({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      temperature: 0.2,
      topP: 0.9,
      maxTokens: 50,
      stop: ['END'],
      seed: 7,
      providerOptions: { local: { presencePenalty: 0.5 } },
    });
  });

  it('reads images as data URLs only when the model accepts them', () => {
    const body = parse({
      model: 'm',
      messages: [
        { role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA' } }] },
      ],
    });
    expect(() => toChatRequest(body, { acceptsImages: false })).toThrow(UnsupportedContentError);
    expect(toChatRequest(body, { acceptsImages: true }).messages[0]).toEqual({
      role: 'user',
      content: [{ type: 'image', mediaType: 'image/png', data: 'AAAA' }],
    });
  });

  it('refuses n > 1 and a tool_choice without tools', () => {
    expect(() =>
      toChatRequest(parse({ model: 'm', messages: [{ role: 'user', content: 'x' }], n: 3 }), {
        acceptsImages: false,
      }),
    ).toThrow(InvalidRequestError);
    expect(() =>
      toChatRequest(
        parse({ model: 'm', messages: [{ role: 'user', content: 'x' }], tool_choice: 'required' }),
        {
          acceptsImages: false,
        },
      ),
    ).toThrow(/no tools/);
  });
});
