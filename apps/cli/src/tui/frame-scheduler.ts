/**
 * Coalesces redraw requests into at most one frame per interval (50 ms: 20 frames a second), so a
 * fast stream of tokens never redraws more often than the terminal can show, and a single change
 * still appears at once when the last frame was long enough ago.
 */
export class FrameScheduler {
  readonly #draw: () => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  #last = Number.NEGATIVE_INFINITY;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #frames = 0;

  constructor(draw: () => void, intervalMs = 50, now: () => number = () => performance.now()) {
    this.#draw = draw;
    this.#intervalMs = intervalMs;
    this.#now = now;
  }

  /** Frames drawn so far. */
  get frames(): number {
    return this.#frames;
  }

  /** Asks for a frame; several requests within one interval give one frame. */
  request(): void {
    if (this.#timer !== undefined) return;
    const wait = Math.max(0, this.#last + this.#intervalMs - this.#now());
    this.#timer = setTimeout(() => this.#frame(), wait);
  }

  /** Draws now (a key press the user waits to see echoed, a resize). */
  now(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#frame();
  }

  /** Stops any pending frame. */
  stop(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #frame(): void {
    this.#timer = undefined;
    this.#last = this.#now();
    this.#frames++;
    this.#draw();
  }
}
