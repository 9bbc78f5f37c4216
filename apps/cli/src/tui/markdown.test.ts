import { describe, expect, it } from 'vitest';
import { escapeTags, renderMarkdown, stripTags } from './markdown.js';

describe('renderMarkdown', () => {
  it('renders headings, lists, quotes and inline styles as terminal tags', () => {
    const out = renderMarkdown(
      '# Title\n- item with `code`\n1. **bold** step\n> quoted\nsee [docs](https://x.dev)',
    );
    expect(out.split('\n')).toEqual([
      '{bold}{underline}Title{/}',
      '  • item with {yellow-fg}code{/yellow-fg}',
      '  {bold}1.{/bold} {bold}bold{/bold} step',
      '{gray-fg}│{/gray-fg} quoted',
      'see docs ({underline}https://x.dev{/underline})',
    ]);
  });

  it('shows code blocks with their language and leaves their content alone', () => {
    const out = renderMarkdown('```ts\nconst a = { b: 1 } * 2;\n```');
    expect(stripTags(out)).toBe('  ┌─ ts\n  │ const a = { b: 1 } * 2;\n  └─');
  });

  it('treats an unclosed fence as code while the answer streams', () => {
    expect(stripTags(renderMarkdown('Here:\n```\nls -la **not bold**'))).toBe(
      'Here:\n  ┌─ code\n  │ ls -la **not bold**',
    );
  });

  it('escapes braces, so model text cannot inject tags', () => {
    expect(escapeTags('{red-fg}x{/red-fg}')).toBe('{open}red-fg{close}x{open}/red-fg{close}');
    expect(stripTags(renderMarkdown('use {bold} literally'))).toBe('use {bold} literally');
  });

  it('leaves arithmetic and snake_case alone', () => {
    expect(stripTags(renderMarkdown('2 * 3 * 4 and my_var_name'))).toBe('2 * 3 * 4 and my_var_name');
  });
});
