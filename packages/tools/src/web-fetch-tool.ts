import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import { isIP, type LookupFunction } from 'node:net';
import type { Readable } from 'node:stream';
import zlib from 'node:zlib';
import { z } from 'zod';
import { ToolAbortedError, WebFetchError } from './errors.js';
import { htmlToMarkdown } from './html-to-markdown.js';
import { createAddressFilter } from './private-address.js';
import { detectBinary } from './text-file.js';
import { defineTool, type Tool } from './tool.js';

/** Settings of {@link createWebFetchTool}. */
export interface WebFetchToolOptions {
  /**
   * Which private, loopback and link-local addresses may be fetched: `false` (default) none, `true` all,
   * or a list of addresses and CIDR ranges. Checked on the resolved address of every hop, redirects included.
   */
  allowPrivateNetwork?: boolean | readonly string[];
  /** Whole fetch, redirects included (default 10 s, as the original Shammah). */
  timeoutMs?: number;
  /** Most bytes of body read, after decompression (default 5 MB); the rest is cut off. */
  maxBytes?: number;
  /** Default 5. */
  maxRedirects?: number;
  userAgent?: string;
}

/** What WebFetch returns to the UI. */
export interface WebFetchToolData {
  url: string;
  /** After redirects. */
  finalUrl: string;
  status: number;
  contentType: string;
  title?: string;
  /** Body bytes read. */
  bytes: number;
  /** The body was longer than `maxBytes` and was cut. */
  truncated: boolean;
  redirects: string[];
}

const inputSchema = z.object({
  url: z.string().min(1).describe('The http or https URL to fetch.'),
});

function withScheme(raw: string): string {
  return /^[a-z][a-z0-9+.-]*:\/\//i.test(raw.trim()) ? raw.trim() : `https://${raw.trim()}`;
}

function parseUrl(raw: string): URL {
  let url: URL;
  try {
    url = new URL(withScheme(raw));
  } catch (error) {
    throw new WebFetchError(
      'fetch_invalid_url',
      raw,
      `${JSON.stringify(raw)} is not a valid URL. Pass a full http(s) URL.`,
      {
        cause: error,
      },
    );
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new WebFetchError(
      'fetch_invalid_url',
      raw,
      `WebFetch only fetches http and https URLs, not ${url.protocol} (${raw}).`,
    );
  }
  return url;
}

function blockedError(url: string, host: string, address: string): WebFetchError {
  return new WebFetchError(
    'fetch_blocked_address',
    url,
    `Refused to fetch ${url}: ${host} resolves to ${address}, a private, loopback or link-local address. ` +
      'WebFetch only reaches the public internet unless the host allows private addresses (allowPrivateNetwork).',
  );
}

function contentDecoder(response: IncomingMessage): Readable {
  const encoding = String(response.headers['content-encoding'] ?? '').toLowerCase();
  if (encoding === 'gzip' || encoding === 'x-gzip') return response.pipe(zlib.createGunzip());
  if (encoding === 'deflate') return response.pipe(zlib.createInflate());
  if (encoding === 'br') return response.pipe(zlib.createBrotliDecompress());
  return response;
}

function decodeText(body: Buffer, contentType: string): string {
  const charset = /charset=["']?([^;"'\s]+)/i.exec(contentType)?.[1] ?? 'utf-8';
  try {
    return new TextDecoder(charset).decode(body);
  } catch {
    return new TextDecoder('utf-8').decode(body);
  }
}

/**
 * WebFetch: fetches a URL and returns it as readable markdown (HTML) or text, with size, time and
 * redirect limits. Refuses private, loopback and link-local addresses unless allowed, checking the
 * address actually connected to, on every redirect.
 */
export function createWebFetchTool(
  options: WebFetchToolOptions = {},
): Tool<z.output<typeof inputSchema>, WebFetchToolData> {
  const { timeoutMs = 10_000, maxBytes = 5 * 1024 * 1024, maxRedirects = 5 } = options;
  const userAgent = options.userAgent ?? 'Shammah-WebFetch/0.1 (+https://github.com/shammah/shammah)';
  const allowed = createAddressFilter(options.allowPrivateNetwork ?? false);

  const guardedLookup: LookupFunction = (hostname, lookupOptions, callback) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      // Connect only to addresses that pass the check: the connection uses what this returns, so a
      // DNS answer cannot change between the check and the connect.
      const permitted = addresses.filter((entry) => allowed(entry.address));
      if (permitted.length === 0) {
        const blocked = Object.assign(blockedError(hostname, hostname, addresses[0]?.address ?? 'nothing'), {
          code: 'fetch_blocked_address',
        });
        return callback(blocked as unknown as NodeJS.ErrnoException, '', 0);
      }
      if (lookupOptions.all)
        return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, permitted);
      callback(null, permitted[0]!.address, permitted[0]!.family);
    });
  };

  const request = (url: URL, signal: AbortSignal): Promise<IncomingMessage> =>
    new Promise((resolve, reject) => {
      const hostname = url.hostname.replace(/^\[|\]$/g, '');
      // Literal addresses skip DNS (and so the guarded lookup): check them here.
      if (isIP(hostname) !== 0 && !allowed(hostname))
        return reject(blockedError(url.href, hostname, hostname));
      const client = url.protocol === 'https:' ? https : http;
      const outgoing = client.request(url, {
        method: 'GET',
        agent: false,
        lookup: guardedLookup,
        signal,
        headers: {
          'user-agent': userAgent,
          accept: 'text/html,application/xhtml+xml,text/plain,application/json;q=0.9,*/*;q=0.8',
          'accept-encoding': 'gzip, deflate, br',
        },
      });
      outgoing.on('response', resolve);
      outgoing.on('error', (error) => {
        if ((error as { code?: string }).code === 'fetch_blocked_address') {
          return reject(
            blockedError(url.href, hostname, /resolves to (\S+),/.exec(error.message)?.[1] ?? '?'),
          );
        }
        reject(error);
      });
      outgoing.end();
    });

  return defineTool({
    name: 'WebFetch',
    aliases: ['web_fetch', 'fetch'],
    description:
      'Fetch a web page by URL and return its content as markdown (HTML pages) or text. Use it to read ' +
      'documentation or an issue the user links to. Only public http(s) addresses can be fetched; large pages are cut.',
    inputSchema,
    kind: 'network',
    inputAliases: { link: 'url', uri: 'url' },
    // The URL as it will be fetched (a missing scheme becomes https://), so host rules match it.
    permissionTarget: (input) => ({ type: 'url', url: withScheme(input.url) }),
    async execute(input, context) {
      const start = parseUrl(input.url);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = AbortSignal.any([context.signal, timeout]);
      const redirects: string[] = [];
      let url = start;
      let response: IncomingMessage;
      const failed = (error: unknown): never => {
        if (error instanceof WebFetchError) throw error;
        if (context.signal.aborted) throw new ToolAbortedError('WebFetch', { cause: error });
        if (timeout.aborted) {
          throw new WebFetchError(
            'fetch_timeout',
            url.href,
            `Fetching ${url.href} took longer than ${timeoutMs / 1000} s and was stopped. Try again later or another URL.`,
            { cause: error },
          );
        }
        throw new WebFetchError(
          'fetch_failed',
          url.href,
          `Fetching ${url.href} failed: ${(error as Error).message}`,
          {
            cause: error,
          },
        );
      };

      while (true) {
        try {
          response = await request(url, signal);
        } catch (error) {
          return failed(error);
        }
        const status = response.statusCode ?? 0;
        const location = response.headers.location;
        if (status >= 300 && status < 400 && location) {
          response.resume();
          if (redirects.length >= maxRedirects) {
            throw new WebFetchError(
              'fetch_too_many_redirects',
              start.href,
              `${start.href} redirected more than ${maxRedirects} times; stopped at ${url.href}.`,
            );
          }
          const next = new URL(location, url);
          if (next.protocol !== 'http:' && next.protocol !== 'https:') {
            throw new WebFetchError(
              'fetch_invalid_url',
              next.href,
              `${url.href} redirected to ${next.href}, which is not http(s).`,
            );
          }
          redirects.push(next.href);
          url = next;
          continue;
        }
        break;
      }

      const chunks: Buffer[] = [];
      let bytes = 0;
      let truncated = false;
      const body = contentDecoder(response);
      try {
        for await (const chunk of body) {
          const buffer = chunk as Buffer;
          if (bytes + buffer.length > maxBytes) {
            chunks.push(buffer.subarray(0, maxBytes - bytes));
            bytes = maxBytes;
            truncated = true;
            break;
          }
          chunks.push(buffer);
          bytes += buffer.length;
        }
      } catch (error) {
        failed(error);
      } finally {
        response.destroy();
      }
      const raw = Buffer.concat(chunks);
      const status = response.statusCode ?? 0;
      const contentType = String(response.headers['content-type'] ?? '');
      const isHtml =
        /html|xhtml/i.test(contentType) ||
        (contentType === '' && /^\s*<(!doctype|html)/i.test(raw.toString('utf8', 0, 200)));
      const isText = isHtml || /^text\/|json|xml|javascript|ecmascript|yaml|toml|csv/i.test(contentType);
      if (!isText && (contentType !== '' || detectBinary(raw.subarray(0, 8192)).binary)) {
        throw new WebFetchError(
          'fetch_unsupported_content',
          url.href,
          `${url.href} returned ${contentType || 'binary data'} (${bytes} bytes), which WebFetch cannot show as text.`,
          { statusCode: status },
        );
      }
      const text = decodeText(raw, contentType);
      const converted = isHtml ? htmlToMarkdown(text, url.href) : { title: undefined, markdown: text };
      if (status >= 400) {
        throw new WebFetchError(
          'fetch_http_status',
          url.href,
          `${url.href} answered HTTP ${status} ${response.statusMessage ?? ''}`.trim() +
            (converted.markdown ? `:\n${converted.markdown.slice(0, 500)}` : '.'),
          { statusCode: status },
        );
      }
      const header = [
        ...(converted.title ? [`# ${converted.title}`] : []),
        `URL: ${url.href}${redirects.length > 0 ? ` (redirected from ${start.href})` : ''}`,
      ].join('\n');
      const note = truncated
        ? `\n\n[The page is larger than ${maxBytes} bytes; only its start was read.]`
        : '';
      return {
        text: `${header}\n\n${converted.markdown}${note}`,
        data: {
          url: start.href,
          finalUrl: url.href,
          status,
          contentType,
          ...(converted.title ? { title: converted.title } : {}),
          bytes,
          truncated,
          redirects,
        },
      };
    },
  });
}
