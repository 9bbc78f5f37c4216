/** How {@link truncateText} shortens a text: keep its start, or its start and its end. */
export type TruncationMode = 'head' | 'head-and-tail';

/** Options of {@link truncateText}. */
export interface TruncateOptions {
  /** Most characters (UTF-16 code units) of the result, marker included. */
  maxChars: number;
  /** `head` keeps the start; `head-and-tail` keeps both ends (command output ends with its errors). */
  mode?: TruncationMode;
  /** Appended to the marker: what the model can do to see the rest. */
  hint?: string;
}

/** What {@link truncateText} returns. */
export interface TruncatedText {
  text: string;
  truncated: boolean;
  /** Characters of the original that were left out. */
  omittedChars: number;
}

const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
const formatter = new Intl.NumberFormat('en-US');

/**
 * Moves `index` back to the nearest grapheme boundary, so a cut never splits a surrogate pair, a
 * combining sequence or an emoji ZWJ sequence. Only a short window around the cut is segmented.
 */
function graphemeBoundaryAtOrBefore(text: string, index: number): number {
  if (index <= 0) return 0;
  if (index >= text.length) return text.length;
  const windowStart = Math.max(0, index - 64);
  let boundary = windowStart;
  for (const { index: segmentIndex } of segmenter.segment(text.slice(windowStart, index + 64))) {
    const absolute = windowStart + segmentIndex;
    if (absolute > index) break;
    boundary = absolute;
  }
  return boundary;
}

function graphemeBoundaryAtOrAfter(text: string, index: number): number {
  if (index <= 0) return 0;
  if (index >= text.length) return text.length;
  const windowStart = Math.max(0, index - 64);
  for (const { index: segmentIndex } of segmenter.segment(text.slice(windowStart, index + 64))) {
    const absolute = windowStart + segmentIndex;
    if (absolute >= index) return absolute;
  }
  return Math.min(text.length, index + 64);
}

/**
 * Shortens a text to at most `maxChars`, never in the middle of a character, and says so in a marker
 * the model can read: how much was left out and, through `hint`, how to see the rest.
 *
 * @example
 * ```ts
 * truncateText(output, { maxChars: 10_000, mode: 'head-and-tail' }).text;
 * ```
 */
export function truncateText(text: string, options: TruncateOptions): TruncatedText {
  const { maxChars, mode = 'head', hint } = options;
  if (text.length <= maxChars) return { text, truncated: false, omittedChars: 0 };

  const hintText = hint ? ` ${hint}` : '';
  // The marker's own length depends on the count it prints; the count's width is bounded by the
  // original length, so reserve for that.
  const markerFor = (omitted: number) =>
    mode === 'head'
      ? `\n\n[… truncated: ${formatter.format(omitted)} of ${formatter.format(text.length)} characters omitted.${hintText}]`
      : `\n\n[… ${formatter.format(omitted)} of ${formatter.format(text.length)} characters omitted here.${hintText} …]\n\n`;
  const reserve = markerFor(text.length).length;
  const budget = Math.max(0, maxChars - reserve);

  if (mode === 'head') {
    const end = graphemeBoundaryAtOrBefore(text, budget);
    const omitted = text.length - end;
    return { text: text.slice(0, end) + markerFor(omitted), truncated: true, omittedChars: omitted };
  }
  const headEnd = graphemeBoundaryAtOrBefore(text, Math.ceil(budget / 2));
  const tailStart = graphemeBoundaryAtOrAfter(text, text.length - Math.floor(budget / 2));
  const omitted = tailStart - headEnd;
  return {
    text: text.slice(0, headEnd) + markerFor(omitted) + text.slice(tailStart),
    truncated: true,
    omittedChars: omitted,
  };
}
