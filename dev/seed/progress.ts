/**
 * A progress bar on stderr: redrawn in place on a terminal, a line every 10% otherwise.
 */

/** Counts work done against a total and shows it. */
export class ProgressBar {
  readonly #label: string;
  readonly #stream: NodeJS.WriteStream;
  readonly #startMs = Date.now();
  #total: number;
  #done = 0;
  #lastDrawMs = 0;
  #lastDecile = -1;

  constructor(label: string, total: number, stream: NodeJS.WriteStream = process.stderr) {
    this.#label = label;
    this.#total = total;
    this.#stream = stream;
  }

  /** Sets the total (when it becomes known later). */
  setTotal(total: number): void {
    this.#total = total;
  }

  /** Sets the amount done and redraws (at most every 100 ms). */
  update(done: number): void {
    this.#done = done;
    const now = Date.now();
    if (this.#stream.isTTY) {
      if (now - this.#lastDrawMs >= 100 || done >= this.#total) this.#draw('\r');
    } else {
      const decile = this.#total > 0 ? Math.floor((10 * done) / this.#total) : 0;
      if (decile > this.#lastDecile) {
        this.#lastDecile = decile;
        this.#draw('', '\n');
      }
    }
    this.#lastDrawMs = now;
  }

  /** Adds `n` to the amount done. */
  add(n: number): void {
    this.update(this.#done + n);
  }

  /** Final line; returns the seconds elapsed and the rate per second. */
  finish(): { seconds: number; perSecond: number } {
    const seconds = (Date.now() - this.#startMs) / 1000;
    const perSecond = seconds > 0 ? this.#done / seconds : this.#done;
    if (this.#stream.isTTY) this.#draw('\r', '\n');
    else if (this.#lastDecile < 10) this.#draw('', '\n');
    return { seconds, perSecond };
  }

  #draw(prefix: string, suffix = ''): void {
    const width = 30;
    const ratio = this.#total > 0 ? Math.min(1, this.#done / this.#total) : 0;
    const filled = Math.round(ratio * width);
    const seconds = (Date.now() - this.#startMs) / 1000;
    const rate = seconds > 0 ? Math.round(this.#done / seconds) : 0;
    const bar = `${'#'.repeat(filled)}${'-'.repeat(width - filled)}`;
    this.#stream.write(`${prefix}${this.#label} [${bar}] ${this.#done}/${this.#total} ${(ratio * 100).toFixed(0)}% ${rate}/s${suffix}`);
  }
}
