/**
 * Turns generated token ids into text deltas. Byte-level tokenizers split multi-byte characters
 * across tokens, so text is released only when it no longer ends in a partial character; text that
 * could be the start of a stop string is held back until it is known not to be one.
 */
export class TextStreamer {
  readonly #decode: (ids: readonly number[]) => string;
  readonly #stops: readonly string[];
  readonly #ids: number[] = [];
  /** Text of all ids so far that contains no partial character. */
  #text = '';
  /** How much of `#text` has been released. */
  #released = 0;
  /** Where the last decode window starts, so each step decodes a few tokens, not all of them. */
  #prefixOffset = 0;
  #readOffset = 0;
  #stopped: string | undefined;

  constructor(decode: (ids: readonly number[]) => string, stops: readonly string[] = []) {
    this.#decode = decode;
    this.#stops = stops.filter((stop) => stop.length > 0);
  }

  /** The stop string that ended generation, if one did. */
  get stoppedBy(): string | undefined {
    return this.#stopped;
  }

  /** All text released or releasable so far, without any stop string. */
  get text(): string {
    return this.#stopped === undefined ? this.#text : this.#text.slice(0, this.#released);
  }

  /** Adds one token; returns the text that may now be shown (possibly empty). */
  push(id: number): string {
    if (this.#stopped !== undefined) return '';
    this.#ids.push(id);
    const prefix = this.#decode(this.#ids.slice(this.#prefixOffset, this.#readOffset));
    const full = this.#decode(this.#ids.slice(this.#prefixOffset));
    if (full.length > prefix.length && !full.endsWith('\uFFFD')) {
      this.#text += full.slice(prefix.length);
      this.#prefixOffset = this.#readOffset;
      this.#readOffset = this.#ids.length;
    }
    return this.#release(false);
  }

  /** Releases whatever is held back at the end of generation. */
  flush(): string {
    return this.#release(true);
  }

  #release(final: boolean): string {
    if (this.#stopped !== undefined) return '';
    for (const stop of this.#stops) {
      const at = this.#text.indexOf(stop, Math.max(0, this.#released - stop.length + 1));
      if (at !== -1) {
        const delta = this.#text.slice(this.#released, at);
        this.#released = at;
        this.#stopped = stop;
        return delta;
      }
    }
    let safe = this.#text.length;
    if (!final) {
      for (const stop of this.#stops) {
        for (let keep = Math.min(stop.length - 1, this.#text.length); keep > 0; keep--) {
          if (this.#text.endsWith(stop.slice(0, keep))) {
            safe = Math.min(safe, this.#text.length - keep);
            break;
          }
        }
      }
    }
    safe = Math.max(safe, this.#released);
    const delta = this.#text.slice(this.#released, safe);
    this.#released = safe;
    return delta;
  }
}
