/** `1.2 GB`, `340 MB`. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(1)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(0)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(0)} kB`;
  return `${bytes} B`;
}

/** One line of a progress bar: `[#######-------]  45%  120 MB / 270 MB  model.onnx`. */
export function progressLine(fraction: number, detail: string, width = 30): string {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
  const filled = Math.round(clamped * width);
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${String(Math.floor(clamped * 100)).padStart(3)}%  ${detail}`;
}

/**
 * A progress bar on a stream: redrawn in place on a terminal (at most 10 times a second), or
 * printed as a line every 10% when the output is a file or a pipe.
 */
export class ProgressBar {
  readonly #out: NodeJS.WriteStream;
  readonly #tty: boolean;
  #lastDraw = 0;
  #lastDecile = -1;
  #drawn = false;

  constructor(out: NodeJS.WriteStream = process.stderr) {
    this.#out = out;
    this.#tty = Boolean(out.isTTY);
  }

  update(fraction: number, detail: string): void {
    if (this.#tty) {
      const now = Date.now();
      if (now - this.#lastDraw < 100 && fraction < 1) return;
      this.#lastDraw = now;
      const width = Math.max(10, Math.min(30, (this.#out.columns ?? 80) - detail.length - 12));
      this.#out.write(`\r\x1b[2K${progressLine(fraction, detail, width)}`);
      this.#drawn = true;
      return;
    }
    const decile = Math.floor(fraction * 10);
    if (decile > this.#lastDecile) {
      this.#lastDecile = decile;
      this.#out.write(`${progressLine(fraction, detail)}\n`);
    }
  }

  done(message?: string): void {
    if (this.#tty && this.#drawn) this.#out.write('\r\x1b[2K');
    if (message) this.#out.write(`${message}\n`);
  }
}
