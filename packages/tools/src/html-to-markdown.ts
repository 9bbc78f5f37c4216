import TurndownService from 'turndown';

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-f]+|#\d+|[a-z]+);/gi, (whole, entity: string) => {
    if (entity.startsWith('#x') || entity.startsWith('#X'))
      return String.fromCodePoint(Number.parseInt(entity.slice(2), 16));
    if (entity.startsWith('#')) return String.fromCodePoint(Number.parseInt(entity.slice(1), 10));
    return ENTITIES[entity.toLowerCase()] ?? whole;
  });
}

/** Converts a page's HTML to readable markdown. */
export interface HtmlToMarkdownResult {
  title: string | undefined;
  markdown: string;
}

/**
 * Turns HTML into markdown a model can read: drops scripts, styles, navigation and embedded media,
 * makes links absolute against `baseUrl`, and uses `<main>` or `<article>` when the page has one.
 */
export function htmlToMarkdown(html: string, baseUrl: string): HtmlToMarkdownResult {
  const titleMatch = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(html);
  const title = titleMatch
    ? decodeEntities(titleMatch[1]!.replace(/\s+/g, ' ').trim()) || undefined
    : undefined;
  // Prefer the page's main content when it marks it; pages without such a mark are converted whole.
  const main =
    /<main\b[^>]*>([\s\S]*?)<\/main>/i.exec(html) ?? /<article\b[^>]*>([\s\S]*?)<\/article>/i.exec(html);
  const body = main ? main[1]! : html;

  const service = new TurndownService({
    headingStyle: 'atx',
    codeBlockStyle: 'fenced',
    bulletListMarker: '-',
    emDelimiter: '_',
  });
  service.remove([
    'head',
    'script',
    'style',
    'noscript',
    'template',
    'iframe',
    'svg',
    'canvas',
    'nav',
    'form',
  ]);
  const absolute = (value: string) => {
    try {
      return new URL(value, baseUrl).href;
    } catch {
      return value;
    }
  };
  service.addRule('absoluteLinks', {
    filter: (node) => node.nodeName === 'A' && Boolean(node.getAttribute('href')),
    replacement: (content, node) => {
      const href = (node as { getAttribute(name: string): string | null }).getAttribute('href') ?? '';
      if (href.startsWith('javascript:')) return content;
      const text = content.trim();
      return text === '' ? '' : `[${text}](${absolute(href)})`;
    },
  });
  service.addRule('images', {
    filter: 'img',
    replacement: (_content, node) => {
      const element = node as { getAttribute(name: string): string | null };
      const alt = (element.getAttribute('alt') ?? '').trim();
      const src = element.getAttribute('src') ?? '';
      // Inline data URLs would flood the model with base64.
      if (src === '' || src.startsWith('data:')) return alt ? `[image: ${alt}]` : '';
      return `![${alt}](${absolute(src)})`;
    },
  });
  const markdown = service
    .turndown(body)
    .replace(/\n{3,}/g, '\n\n')
    .trim();
  return { title, markdown };
}
