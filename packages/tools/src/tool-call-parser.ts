import { randomUUID } from 'node:crypto';
import type { ToolCall } from '@shammah/provider';
import { jsonrepair } from 'jsonrepair';

/** The text formats of tool calls the parser understands. */
export type ToolCallTextFormat = 'hermes' | 'shammah-xml' | 'json' | 'fenced-json';

/** A tool call found in a model's text. */
export interface ParsedToolCall extends ToolCall {
  format: ToolCallTextFormat;
  /** The text it was parsed from. */
  raw: string;
}

/** Text that was meant as a tool call but could not be read as one. */
export interface ToolCallParseIssue {
  format: ToolCallTextFormat;
  raw: string;
  /** What was wrong, written for the model so it can try again. */
  message: string;
}

/** What the parser emits: answer text, complete tool calls, and calls it could not read. */
export type ToolCallParserEvent =
  | { type: 'text'; text: string }
  | { type: 'tool-call'; call: ParsedToolCall }
  | { type: 'parse-error'; issue: ToolCallParseIssue };

/** Options of {@link IncrementalToolCallParser} and {@link parseToolCalls}. */
export interface ToolCallParserOptions {
  /**
   * When given, bare and fenced JSON counts as a tool call only if it names a known tool, so an answer
   * that shows JSON stays text. Tagged calls (`<tool_call>`, `<tool_use>`) always count.
   */
  isKnownTool?: (name: string) => boolean;
  /** Ids for parsed calls; defaults to `call_` and 12 random hex digits. */
  createId?: () => string;
  /** Bare JSON held back longer than this many characters is released as text (default 64 KiB). */
  maxHeldChars?: number;
}

const TAGS = [
  { open: '<tool_call>', close: '</tool_call>', format: 'hermes' },
  { open: '<tool_use>', close: '</tool_use>', format: 'shammah-xml' },
] as const;
const NAME_KEYS = ['name', 'tool', 'tool_name', 'function'];
const ARGUMENT_KEYS = ['arguments', 'parameters', 'input', 'args', 'params', 'tool_input'];
/** First keys that make a line-initial JSON object worth holding back as a possible call. */
const CALL_FIRST_KEYS = new Set([...NAME_KEYS, ...ARGUMENT_KEYS, 'type', 'tool_call', 'tool_calls', 'id']);
const FENCE_LANGUAGES = new Set(['', 'json', 'json5', 'jsonc', 'tool_call', 'tool_code', 'xml']);

type Scan =
  | { kind: 'text'; length: number; codeBlock?: 'opens' | 'closes' }
  | { kind: 'incomplete' }
  | { kind: 'consumed'; length: number; events: ToolCallParserEvent[] };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function stripFences(text: string): string {
  const fenced = /^```[\w-]*\s*\n?([\s\S]*?)\n?```\s*$/.exec(text.trim());
  return fenced ? fenced[1]!.trim() : text.trim();
}

/** Parses JSON the way small models write it: single quotes, trailing commas, unquoted keys, … */
export function parseLooseJson(text: string): unknown {
  const stripped = stripFences(text);
  try {
    return JSON.parse(stripped);
  } catch {
    return JSON.parse(jsonrepair(stripped));
  }
}

/** End (exclusive) of the JSON object or array starting at `start`, or -1 when it is not closed yet. */
export function findJsonEnd(text: string, start: number): number {
  let depth = 0;
  let quote: string | undefined;
  for (let index = start; index < text.length; index++) {
    const char = text[index];
    if (quote) {
      if (char === '\\') index++;
      else if (char === quote) quote = undefined;
      continue;
    }
    if (char === '"' || char === "'") quote = char;
    else if (char === '{' || char === '[') depth++;
    else if (char === '}' || char === ']') {
      depth--;
      if (depth === 0) return index + 1;
    }
  }
  return -1;
}

/** Whether a line-initial `{` (or `[{`) opens with a key a tool call would start with. */
function firstKeyCheck(text: string): 'call' | 'not-call' | 'incomplete' {
  let index = 0;
  if (text[0] === '[') {
    index = 1;
    while (index < text.length && /\s/.test(text[index]!)) index++;
    if (index === text.length) return 'incomplete';
    if (text[index] !== '{') return 'not-call';
  }
  index++;
  while (index < text.length && /\s/.test(text[index]!)) index++;
  if (index === text.length) return 'incomplete';
  const quote = text[index];
  let key: string;
  if (quote === '"' || quote === "'") {
    const close = text.indexOf(quote, index + 1);
    if (close === -1) return text.length - index > 40 ? 'not-call' : 'incomplete';
    key = text.slice(index + 1, close);
  } else {
    const match = /^[A-Za-z_][\w]*/.exec(text.slice(index));
    if (!match) return 'not-call';
    if (index + match[0].length === text.length) return 'incomplete';
    key = match[0];
  }
  return CALL_FIRST_KEYS.has(key) ? 'call' : 'not-call';
}

interface CallShape {
  name: string;
  input: unknown;
}

/** Reads one call object: `{name, arguments}`, `{name, parameters}`, `{function: {name, arguments}}`, … */
function toCall(value: unknown, strict: boolean): CallShape | undefined {
  if (!isRecord(value)) return undefined;
  if (isRecord(value.tool_call)) return toCall(value.tool_call, strict);
  let name: unknown;
  let input: unknown;
  let hasArguments = false;
  if (isRecord(value.function)) {
    name = value.function.name;
    input = value.function.arguments ?? value.function.parameters;
    hasArguments = true;
  } else {
    name = NAME_KEYS.map((key) => value[key]).find((candidate) => typeof candidate === 'string');
    const key = ARGUMENT_KEYS.find((candidate) => candidate in value);
    if (key) {
      hasArguments = true;
      input = value[key];
    }
  }
  if (typeof name !== 'string' || name.trim() === '') return undefined;
  if (strict && !hasArguments) return undefined;
  if (
    strict &&
    input !== undefined &&
    input !== null &&
    typeof input !== 'object' &&
    typeof input !== 'string'
  ) {
    return undefined;
  }
  // A tool *definition* ({name, description, parameters: {type: 'object', properties}}) is not a call.
  if (
    typeof value.description === 'string' &&
    isRecord(input) &&
    input.type === 'object' &&
    'properties' in input
  ) {
    return undefined;
  }
  if (typeof input === 'string') {
    if (input.trim() === '') input = {};
    else {
      try {
        const parsed = parseLooseJson(input);
        if (isRecord(parsed)) input = parsed;
      } catch {
        // Left as a string: a one-argument tool may still take it.
      }
    }
  }
  return { name: name.trim(), input: input ?? {} };
}

function toCalls(value: unknown, strict: boolean): CallShape[] | undefined {
  if (isRecord(value) && Array.isArray(value.tool_calls)) return toCalls(value.tool_calls, strict);
  const items = Array.isArray(value) ? value : [value];
  if (items.length === 0) return undefined;
  const calls = items.map((item) => toCall(item, strict));
  return calls.every((call) => call !== undefined) ? (calls as CallShape[]) : undefined;
}

/** The JSON values in a tag's body: usually one object, sometimes a list or several objects in a row. */
function jsonValuesIn(body: string): unknown[] {
  const text = stripFences(body);
  const values: unknown[] = [];
  let index = 0;
  while (index < text.length) {
    while (index < text.length && /[\s,]/.test(text[index]!)) index++;
    if (index >= text.length) break;
    if (text[index] !== '{' && text[index] !== '[') {
      if (values.length > 0) break; // trailing chatter after the JSON
      values.push(parseLooseJson(text.slice(index)));
      break;
    }
    const end = findJsonEnd(text, index);
    values.push(parseLooseJson(end === -1 ? text.slice(index) : text.slice(index, end)));
    if (end === -1) break;
    index = end;
  }
  return values;
}

const CALL_FORMAT_HINT =
  'Write a tool call as <tool_call>{"name": "<tool name>", "arguments": {<arguments as JSON>}}</tool_call>.';

/**
 * Parses model text into tool calls as it streams: Hermes/Qwen `<tool_call>{"name", "arguments"}</tool_call>`
 * (also with a list inside, as SmolLM2 writes), the original Shammah's
 * `<tool_use><name>read</name><parameters>{…}</parameters></tool_use>`, bare JSON objects or lists
 * `{"name": …, "arguments"|"parameters": …}` starting a line, and any of these inside a ```json fence. It
 * tolerates small models' slips (single quotes, trailing commas, unquoted keys, a missing closing tag,
 * arguments as a JSON string, text after the JSON). Text that might begin a tool call is held back until
 * it is clear, so tool-call text never reaches the user as answer text.
 *
 * @example
 * ```ts
 * const parser = new IncrementalToolCallParser();
 * for await (const delta of textDeltas) for (const event of parser.push(delta)) handle(event);
 * for (const event of parser.end()) handle(event);
 * ```
 */
export class IncrementalToolCallParser {
  private buffer = '';
  private atLineStart = true;
  private lastChar = '';
  /** Inside a code block that is not a tool call: only its closing fence matters. */
  private inCodeBlock = false;
  private readonly options: ToolCallParserOptions;
  private readonly maxHeldChars: number;

  constructor(options: ToolCallParserOptions = {}) {
    this.options = options;
    this.maxHeldChars = options.maxHeldChars ?? 65_536;
  }

  /** Feeds a text delta; returns what can be emitted so far. */
  push(delta: string): ToolCallParserEvent[] {
    this.buffer += delta;
    return this.drain(false);
  }

  /** Ends the stream: whatever was held back is parsed (an unclosed tag counts) or released as text. */
  end(): ToolCallParserEvent[] {
    return this.drain(true);
  }

  private drain(final: boolean): ToolCallParserEvent[] {
    const events: ToolCallParserEvent[] = [];
    const emitText = (length: number) => {
      const text = this.buffer.slice(0, length);
      this.buffer = this.buffer.slice(length);
      if (text === '') return;
      for (const char of text) {
        if (char === '\n') this.atLineStart = true;
        else if (char !== ' ' && char !== '\t') this.atLineStart = false;
      }
      this.lastChar = text.at(-1)!;
      const previous = events.at(-1);
      if (previous?.type === 'text') previous.text += text;
      else events.push({ type: 'text', text });
    };
    while (this.buffer.length > 0) {
      const index = this.findCandidate();
      if (index === -1) {
        emitText(this.buffer.length);
        break;
      }
      emitText(index);
      const scan = this.scan(this.buffer, final);
      if (scan.kind === 'incomplete') break;
      if (scan.kind === 'text') {
        emitText(Math.max(1, scan.length));
        if (scan.codeBlock) this.inCodeBlock = scan.codeBlock === 'opens';
        continue;
      }
      events.push(...scan.events);
      this.buffer = this.buffer.slice(scan.length);
      this.atLineStart = true;
      this.lastChar = '\n';
    }
    return events;
  }

  /** Index of the first place a tool call might start, or -1. */
  private findCandidate(): number {
    const text = this.buffer;
    let lineStart = this.atLineStart;
    for (let index = 0; index < text.length; index++) {
      const char = text[index]!;
      if (this.inCodeBlock) {
        if (lineStart && char === '`') {
          const part = text.slice(index, index + 3);
          if (part === '```' || (index + part.length === text.length && '```'.startsWith(part))) return index;
        }
      } else if (char === '<') {
        const previous = index > 0 ? text[index - 1] : this.lastChar;
        if (previous !== '`') {
          for (const tag of TAGS) {
            const part = text.slice(index, index + tag.open.length);
            if (part === tag.open || (index + part.length === text.length && tag.open.startsWith(part)))
              return index;
          }
        }
      } else if (lineStart && (char === '{' || char === '[')) {
        return index;
      } else if (lineStart && char === '`') {
        const part = text.slice(index, index + 3);
        if (part === '```' || (index + part.length === text.length && '```'.startsWith(part))) return index;
      }
      if (char === '\n') lineStart = true;
      else if (char !== ' ' && char !== '\t') lineStart = false;
    }
    return -1;
  }

  private scan(text: string, final: boolean): Scan {
    if (this.inCodeBlock) {
      if (text.startsWith('```')) return { kind: 'text', length: 3, codeBlock: 'closes' };
      return final ? { kind: 'text', length: text.length } : { kind: 'incomplete' };
    }
    if (text[0] === '<') {
      for (const tag of TAGS) {
        if (text.startsWith(tag.open)) return this.scanTagged(text, tag, final);
        if (tag.open.startsWith(text))
          return final ? { kind: 'text', length: text.length } : { kind: 'incomplete' };
      }
      return { kind: 'text', length: 1 };
    }
    if (text[0] === '`') return this.scanFence(text, final);
    return this.scanBareJson(text, final);
  }

  private newId(): string {
    return this.options.createId?.() ?? `call_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
  }

  private callEvents(calls: CallShape[], format: ToolCallTextFormat, raw: string): ToolCallParserEvent[] {
    return calls.map((call) => ({
      type: 'tool-call' as const,
      call: { id: this.newId(), name: call.name, input: call.input, format, raw },
    }));
  }

  private scanTagged(text: string, tag: (typeof TAGS)[number], final: boolean): Scan {
    const bodyStart = tag.open.length;
    const close = text.indexOf(tag.close, bodyStart);
    // A model that forgets the closing tag often starts the next call right away.
    const nextOpen = text.indexOf(tag.open, bodyStart);
    let body: string;
    let length: number;
    if (close !== -1 && (nextOpen === -1 || close < nextOpen)) {
      body = text.slice(bodyStart, close);
      length = close + tag.close.length;
    } else if (nextOpen !== -1) {
      body = text.slice(bodyStart, nextOpen);
      length = nextOpen;
    } else if (final) {
      // Unclosed at the end (often because the closing tag was a stop sequence). For JSON bodies,
      // anything after the JSON value is answer text.
      body = text.slice(bodyStart);
      length = text.length;
      const start = body.search(/\S/);
      // An unclosed tag followed by prose was the model talking about the tag, not calling a tool.
      const opensCall =
        start !== -1 &&
        (tag.format === 'hermes'
          ? /^(?:[{[]|```)/.test(body.slice(start))
          : body.slice(start).startsWith('<name>'));
      if (!opensCall) return { kind: 'text', length: tag.open.length };
      if (tag.format === 'hermes' && start !== -1 && (body[start] === '{' || body[start] === '[')) {
        const end = findJsonEnd(body, start);
        if (end !== -1 && body.slice(end).trim() !== '') {
          length = bodyStart + end;
          body = body.slice(0, end);
        }
      }
    } else {
      return { kind: 'incomplete' };
    }
    const raw = text.slice(0, length);
    return { kind: 'consumed', length, events: this.parseTagBody(body, tag.format, raw) };
  }

  private parseTagBody(body: string, format: ToolCallTextFormat, raw: string): ToolCallParserEvent[] {
    const issue = (message: string): ToolCallParserEvent[] => [
      { type: 'parse-error', issue: { format, raw, message: `${message} ${CALL_FORMAT_HINT}` } },
    ];
    if (format === 'shammah-xml') {
      const name = /<name>\s*([\s\S]*?)\s*<\/name>/.exec(body)?.[1];
      if (name !== undefined) {
        const parameters =
          /<(parameters|arguments|input)>([\s\S]*?)(?:<\/\1>|$)/.exec(body)?.[2]?.trim() ?? '';
        let input: unknown = {};
        if (parameters.startsWith('{') || parameters.startsWith('[') || parameters.startsWith('```')) {
          try {
            input = parseLooseJson(parameters);
          } catch (error) {
            return issue(
              `The parameters of the ${name} call are not valid JSON (${(error as Error).message}).`,
            );
          }
        } else if (parameters !== '') {
          const fields: Record<string, string> = {};
          for (const match of parameters.matchAll(/<([A-Za-z_][\w-]*)>([\s\S]*?)<\/\1>/g)) {
            fields[match[1]!] = match[2]!.trim();
          }
          if (Object.keys(fields).length === 0) {
            return issue(
              `The parameters of the ${name} call are neither JSON nor <key>value</key> elements.`,
            );
          }
          input = fields;
        }
        if (name === '') return issue('The <name> of the tool call is empty.');
        return this.callEvents([{ name, input }], format, raw);
      }
    }
    if (body.trim() === '') return issue('The tool call is empty.');
    let values: unknown[];
    try {
      values = jsonValuesIn(body);
    } catch (error) {
      return issue(`The tool call is not valid JSON (${(error as Error).message}).`);
    }
    const calls: CallShape[] = [];
    for (const value of values) {
      const found = toCalls(value, false);
      if (!found) return issue('The tool call has no "name".');
      calls.push(...found);
    }
    if (calls.length === 0) return issue('The tool call is empty.');
    return this.callEvents(calls, format, raw);
  }

  private knownCalls(calls: CallShape[] | undefined): calls is CallShape[] {
    if (!calls) return false;
    const known = this.options.isKnownTool;
    return !known || calls.every((call) => known(call.name));
  }

  private scanBareJson(text: string, final: boolean): Scan {
    const check = firstKeyCheck(text);
    if (check === 'not-call') return { kind: 'text', length: 1 };
    if (check === 'incomplete') return final ? { kind: 'text', length: text.length } : { kind: 'incomplete' };
    const end = findJsonEnd(text, 0);
    if (end === -1) {
      if (!final)
        return text.length > this.maxHeldChars ? { kind: 'text', length: 1 } : { kind: 'incomplete' };
      // The stream ended inside the object: a model cut off before its last braces.
      try {
        const calls = toCalls(parseLooseJson(text), true);
        if (this.knownCalls(calls))
          return { kind: 'consumed', length: text.length, events: this.callEvents(calls, 'json', text) };
      } catch {
        // Not repairable: it is text.
      }
      return { kind: 'text', length: 1 };
    }
    const raw = text.slice(0, end);
    let calls: CallShape[] | undefined;
    try {
      calls = toCalls(parseLooseJson(raw), true);
    } catch {
      calls = undefined;
    }
    if (!this.knownCalls(calls)) return { kind: 'text', length: end };
    return { kind: 'consumed', length: end, events: this.callEvents(calls, 'json', raw) };
  }

  private scanFence(text: string, final: boolean): Scan {
    if (text.length < 3) return final ? { kind: 'text', length: text.length } : { kind: 'incomplete' };
    const newline = text.indexOf('\n', 3);
    if (newline === -1) {
      if (final || text.length > 40) return { kind: 'text', length: 3, codeBlock: 'opens' };
      return { kind: 'incomplete' };
    }
    const language = text.slice(3, newline).trim().toLowerCase();
    if (!FENCE_LANGUAGES.has(language)) return { kind: 'text', length: 3, codeBlock: 'opens' };
    const contentStart = text.slice(newline).search(/\S/);
    if (contentStart === -1) return final ? { kind: 'text', length: 3 } : { kind: 'incomplete' };
    const content = text.slice(newline + contentStart);
    if (content[0] === '{' || content[0] === '[') {
      const check = firstKeyCheck(content);
      if (check === 'not-call') return { kind: 'text', length: 3, codeBlock: 'opens' };
      if (check === 'incomplete' && !final) return { kind: 'incomplete' };
    } else if (content[0] === '<') {
      const maybeTag = TAGS.some((tag) => content.startsWith(tag.open) || tag.open.startsWith(content));
      if (!maybeTag) return { kind: 'text', length: 3, codeBlock: 'opens' };
      if (!TAGS.some((tag) => content.startsWith(tag.open)) && !final) return { kind: 'incomplete' };
    } else {
      return { kind: 'text', length: 3, codeBlock: 'opens' };
    }
    const closing = text.indexOf('```', newline);
    if (closing === -1 && !final) {
      return text.length > this.maxHeldChars
        ? { kind: 'text', length: 3, codeBlock: 'opens' }
        : { kind: 'incomplete' };
    }
    const bodyEnd = closing === -1 ? text.length : closing;
    const length = closing === -1 ? text.length : closing + 3;
    const inner = new IncrementalToolCallParser({ ...this.options, maxHeldChars: Number.POSITIVE_INFINITY });
    const innerEvents = [...inner.push(text.slice(newline + 1, bodyEnd)), ...inner.end()];
    const calls = innerEvents.filter((event) => event.type === 'tool-call');
    const errors = innerEvents.filter((event) => event.type === 'parse-error');
    const strayText = innerEvents.some((event) => event.type === 'text' && event.text.trim() !== '');
    const tagged = calls.some((event) => event.call.format !== 'json') || errors.length > 0;
    if (strayText || (calls.length === 0 && !tagged)) return { kind: 'text', length };
    const raw = text.slice(0, length);
    const events = [...calls, ...errors].map((event) =>
      event.type === 'tool-call' && event.call.format === 'json'
        ? { ...event, call: { ...event.call, format: 'fenced-json' as const, raw } }
        : event,
    );
    return { kind: 'consumed', length, events };
  }
}

/** What {@link parseToolCalls} found in a whole text. */
export interface ParsedModelText {
  /** The text without its tool calls. */
  text: string;
  calls: ParsedToolCall[];
  issues: ToolCallParseIssue[];
}

/**
 * Parses a whole model answer at once (the same parser as {@link IncrementalToolCallParser}, so a
 * streamed and a whole answer agree).
 *
 * @example
 * ```ts
 * parseToolCalls('<tool_call>{"name": "Read", "arguments": {"file_path": "a.ts"}}</tool_call>').calls[0]?.name; // 'Read'
 * ```
 */
export function parseToolCalls(text: string, options: ToolCallParserOptions = {}): ParsedModelText {
  const parser = new IncrementalToolCallParser(options);
  const result: ParsedModelText = { text: '', calls: [], issues: [] };
  for (const event of [...parser.push(text), ...parser.end()]) {
    if (event.type === 'text') result.text += event.text;
    else if (event.type === 'tool-call') result.calls.push(event.call);
    else result.issues.push(event.issue);
  }
  return result;
}
