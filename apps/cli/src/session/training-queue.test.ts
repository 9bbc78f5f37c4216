import type { ChatMessage } from '@shammah/provider';
import { describe, expect, it } from 'vitest';
import { conversationUpTo } from './training-queue.js';

describe('conversationUpTo', () => {
  const messages: ChatMessage[] = [
    { role: 'user', content: 'Hi' },
    { role: 'assistant', content: 'Hello.' },
    { role: 'user', content: 'What is 2+2?' },
    {
      role: 'assistant',
      content: [{ type: 'tool-call', id: 'c1', name: 'Bash', input: { command: 'echo $((2+2))' } }],
    },
    { role: 'tool', content: [{ type: 'tool-result', toolCallId: 'c1', toolName: 'Bash', content: '4' }] },
    { role: 'assistant', content: '4.' },
  ];

  it('keeps the conversation up to the rated question, tool turns of the answer left out', () => {
    expect(conversationUpTo(messages, 'What is 2+2?')).toEqual(messages.slice(0, 3));
  });

  it('falls back to the question alone', () => {
    expect(conversationUpTo(messages, 'Something else')).toEqual([
      { role: 'user', content: 'Something else' },
    ]);
  });
});
