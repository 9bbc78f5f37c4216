/** Escapes text for a blessed element with `tags: true`. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (brace) => (brace === '{' ? '{open}' : '{close}'));
}

/** Removes blessed tags, leaving the text a user sees (for tests and plain output). */
export function stripTags(text: string): string {
  return text
    .replace(/\{(\/?)([a-z-]+|#[0-9a-f]{3,6}-[fb]g|[a-z]+-[fb]g)\}/gi, (_tag, _slash, name: string) =>
      name === 'open' ? '{' : name === 'close' ? '}' : '',
    )
    .replace(/\{\/\}/g, '');
}

function renderInline(text: string): string {
  // Code spans first: nothing inside them is formatted.
  return text
    .split(/(`[^`]+`)/)
    .map((piece, index) => {
      if (index % 2 === 1) return `{yellow-fg}${escapeTags(piece.slice(1, -1))}{/yellow-fg}`;
      return escapeTags(piece)
        .replace(/\*\*([^*\s](?:[^*]*[^*\s])?)\*\*/g, '{bold}$1{/bold}')
        .replace(/__([^_\s](?:[^_]*[^_\s])?)__/g, '{bold}$1{/bold}')
        .replace(/(^|[^*\w])\*([^*\s](?:[^*]*[^*\s])?)\*(?![*\w])/g, '$1{underline}$2{/underline}')
        .replace(/(^|[^_\w])_([^_\s](?:[^_]*[^_\s])?)_(?![_\w])/g, '$1{underline}$2{/underline}')
        .replace(/\[([^\]]+)\]\(([^)\s]+)\)/g, '$1 ({underline}$2{/underline})');
    })
    .join('');
}

/**
 * Renders markdown as blessed-tagged text for a terminal: headings in bold, code blocks with a
 * gutter and their language, inline code highlighted, lists with bullets, quotes with a bar.
 * Works on partial text while an answer streams (an unclosed code fence is a code block so far).
 *
 * @example
 * ```ts
 * box.setContent(renderMarkdown('# Title\n\n```ts\nconst x = 1;\n```'));
 * ```
 */
export function renderMarkdown(markdown: string): string {
  const out: string[] = [];
  let fence: { marker: string; language: string } | undefined;
  for (const line of markdown.split('\n')) {
    if (fence) {
      if (line.trimStart().startsWith(fence.marker) && line.trim() === line.trim().replace(/[^`~]/g, '')) {
        out.push('{gray-fg}  └─{/gray-fg}');
        fence = undefined;
      } else {
        out.push(`{gray-fg}  │{/gray-fg} {cyan-fg}${escapeTags(line)}{/cyan-fg}`);
      }
      continue;
    }
    const opening = /^\s*(`{3,}|~{3,})\s*([\w+#.-]*)/.exec(line);
    if (opening) {
      fence = { marker: opening[1]!, language: opening[2] ?? '' };
      out.push(`{gray-fg}  ┌─ ${escapeTags(fence.language || 'code')}{/gray-fg}`);
      continue;
    }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      out.push(`{bold}${heading[1]!.length <= 2 ? '{underline}' : ''}${renderInline(heading[2]!)}{/}`);
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) {
      out.push(`{gray-fg}${'─'.repeat(40)}{/gray-fg}`);
      continue;
    }
    const quote = /^\s*>\s?(.*)$/.exec(line);
    if (quote) {
      out.push(`{gray-fg}│{/gray-fg} ${renderInline(quote[1]!)}`);
      continue;
    }
    const bullet = /^(\s*)[-*+]\s+(.*)$/.exec(line);
    if (bullet) {
      const task = /^\[([ xX])\]\s+(.*)$/.exec(bullet[2]!);
      const mark = task ? (task[1] === ' ' ? '☐' : '☑') : '•';
      out.push(`${bullet[1]}  ${mark} ${renderInline(task ? task[2]! : bullet[2]!)}`);
      continue;
    }
    const numbered = /^(\s*)(\d+[.)])\s+(.*)$/.exec(line);
    if (numbered) {
      out.push(`${numbered[1]}  {bold}${numbered[2]}{/bold} ${renderInline(numbered[3]!)}`);
      continue;
    }
    out.push(renderInline(line));
  }
  return out.join('\n');
}
