import type { TranscriptEntry } from '../repl/transcript.js';
import { escapeTags, renderMarkdown } from './markdown.js';

const TONE_COLOURS = { info: '', warn: 'yellow-fg', error: 'red-fg', dim: 'gray-fg' } as const;
const PLAN_MARKS = {
  pending: '{gray-fg}○{/gray-fg}',
  running: '{yellow-fg}◐{/yellow-fg}',
  done: '{green-fg}●{/green-fg}',
  failed: '{red-fg}✗{/red-fg}',
  skipped: '{gray-fg}–{/gray-fg}',
} as const;

function indent(text: string, prefix: string): string {
  return text
    .split('\n')
    .map((line) => `${prefix}${line}`)
    .join('\n');
}

function toolTitle(entry: Extract<TranscriptEntry, { kind: 'tool' }>): string {
  const input = entry.call.input;
  const argument =
    input && typeof input === 'object'
      ? Object.entries(input as Record<string, unknown>)
          .map(([key, value]) => `${key}: ${typeof value === 'string' ? value : JSON.stringify(value)}`)
          .join(', ')
      : JSON.stringify(input);
  const short = argument.length > 100 ? `${argument.slice(0, 99)}…` : argument;
  return `${escapeTags(entry.call.name)}(${escapeTags(short.replace(/\n/g, '⏎'))})`;
}

/**
 * One transcript entry as blessed-tagged text: user messages after a `›`, answers as rendered
 * markdown under their route, tool calls with arguments, output tail and result, notices in their
 * tone, plans as a checklist.
 */
export function renderEntry(entry: TranscriptEntry, spinner = '⠋'): string {
  switch (entry.kind) {
    case 'user':
      return `{bold}{cyan-fg}›{/cyan-fg} ${escapeTags(entry.text).replace(/\n/g, '\n  ')}{/bold}`;
    case 'assistant': {
      const lines: string[] = [];
      if (entry.route) {
        lines.push(
          `{gray-fg}⏺ ${escapeTags(entry.route.route)} · ${escapeTags(entry.route.model)} · ${escapeTags(entry.route.reason)}{/gray-fg}`,
        );
      }
      const body = renderMarkdown(entry.text.replace(/^\n+/, ''));
      lines.push(indent(body || (entry.streaming ? `{gray-fg}${spinner}{/gray-fg}` : ''), '  '));
      if (entry.ended) lines.push(`  {yellow-fg}[${escapeTags(entry.ended)}]{/yellow-fg}`);
      if (entry.stats && !entry.streaming) lines.push(`  {gray-fg}${escapeTags(entry.stats)}{/gray-fg}`);
      return lines.join('\n');
    }
    case 'tool': {
      const lines = [`{magenta-fg}⚙{/magenta-fg} {bold}${toolTitle(entry)}{/bold}`];
      if (entry.permission) lines.push(`  {gray-fg}⎿ ${escapeTags(entry.permission)}{/gray-fg}`);
      const output = entry.output.trimEnd();
      if (output && !entry.result) {
        const tail = output.split('\n').slice(-5).join('\n');
        lines.push(indent(`{gray-fg}${escapeTags(tail)}{/gray-fg}`, '  │ '));
      }
      if (entry.result) {
        lines.push(
          entry.result.isError
            ? `  {red-fg}⎿ ${escapeTags(entry.result.summary)}{/red-fg}`
            : `  {gray-fg}⎿ ${escapeTags(entry.result.summary)}{/gray-fg}`,
        );
      } else lines.push(`  {gray-fg}${spinner} running…{/gray-fg}`);
      return lines.join('\n');
    }
    case 'notice': {
      const colour = TONE_COLOURS[entry.tone];
      const text = escapeTags(entry.text);
      return colour ? `{${colour}}${text}{/${colour}}` : text;
    }
    case 'plan': {
      const lines = [
        `{bold}☰ ${escapeTags(entry.title)}{/bold} {gray-fg}(${escapeTags(entry.status)}){/gray-fg}`,
      ];
      entry.steps.forEach((step, index) => {
        const text = `${index + 1}. ${escapeTags(step.text)}`;
        lines.push(
          `  ${PLAN_MARKS[step.state]} ${step.state === 'done' ? `{gray-fg}${text}{/gray-fg}` : text}`,
        );
      });
      return lines.join('\n');
    }
  }
}
