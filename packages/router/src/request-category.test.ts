import { describe, expect, it } from 'vitest';
import { classifyRequest } from './request-category.js';

describe('classifyRequest', () => {
  it.each([
    ['Why does this throw a TypeError?', 'debug'],
    ['My build is failing with exit code 2', 'debug'],
    ['fix the off-by-one in parse()', 'debug'],
    ['How do I list files by size in bash?', 'shell'],
    ['git rebase -i onto main, how?', 'shell'],
    ['Write a function that reverses a linked list in TypeScript', 'code-write'],
    ['Implement a class for an LRU cache', 'code-write'],
    ['Explain what this regex does: ^a+$', 'code-explain'],
    ['How does the useEffect hook work?', 'code-explain'],
    ['What is 17 * 23?', 'math'],
    ['Solve the equation x^2 = 9', 'math'],
    ['Write a haiku about autumn', 'creative'],
    ['Tell me a joke', 'creative'],
    ['What is the capital of France?', 'general-knowledge'],
    ['Who was Ada Lovelace?', 'general-knowledge'],
    ['hello!', 'greeting'],
    ['Plan my week', 'other'],
  ])('puts %j in %s', (text, category) => {
    expect(classifyRequest(text)).toBe(category);
  });

  it('uses the caller’s rules, first match first', () => {
    const rules = [
      { name: 'sql', patterns: [/\bselect\b.*\bfrom\b/] },
      { name: 'anything', patterns: [/./] },
    ];
    expect(classifyRequest('SELECT * FROM users', rules)).toBe('sql');
    expect(classifyRequest('Hello', rules)).toBe('anything');
    expect(classifyRequest('', rules)).toBe('other');
  });
});
