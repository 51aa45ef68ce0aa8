/** A stream the bar draws on: stderr, usually. */
export interface BarStream {
  /** Writes text to the stream. */
  write(text: string): unknown;
  /** True for a terminal: the bar then redraws one line in place; otherwise it prints a line per 10%. */
  isTTY?: boolean;
  /** The terminal's width in characters (80 when absent). */
  columns?: number;
}

/** The counts a bar shows. */
export interface BarState {
  /** Items done so far. */
  done: number;
  /** Items in all; 0 shows as complete. */
  total: number;
  /** Shown after the counts, e.g. `copied 12, skipped 0, failed 0`. */
  detail?: string;
}

const REDRAW_MS = 80;

/**
 * A progress bar on stderr, written by hand (no dependency). On a terminal it redraws one line with
 * `\r`, at most every 80 ms, plus the final state; elsewhere (a pipe, a log file, CI) it prints a
 * line at every 10% so logs stay short.
 */
export class ProgressBar {
  readonly #stream: BarStream;
  readonly #label: string;
  readonly #tty: boolean;
  #lastDraw = 0;
  #lastTenth = -1;
  #state: BarState = { done: 0, total: 0 };
  #drawn = false;
  #finished = false;

  /** `label` starts the line; `options.tty` overrides whether `stream` is taken for a terminal. */
  constructor(stream: BarStream, label: string, options: { tty?: boolean } = {}) {
    this.#stream = stream;
    this.#label = label;
    this.#tty = options.tty ?? stream.isTTY === true;
  }

  /** Redraws the bar for a new state (at most a few times a second on a terminal). */
  update(state: BarState): void {
    if (this.#finished) return;
    this.#state = state;
    if (this.#tty) {
      const now = Date.now();
      if (now - this.#lastDraw >= REDRAW_MS || state.done >= state.total) {
        this.#lastDraw = now;
        this.#drawTty();
      }
      return;
    }
    const tenth = state.total === 0 ? 10 : Math.floor((state.done * 10) / state.total);
    if (tenth > this.#lastTenth) {
      this.#lastTenth = tenth;
      this.#stream.write(`${this.#line(false)}\n`);
    }
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (this.#finished) return;
    if (this.#tty) {
      this.#drawTty();
      this.#stream.write('\n');
    } else if (this.#lastTenth < 10 && this.#state.done >= this.#state.total) {
      this.#stream.write(`${this.#line(false)}\n`);
    }
    this.#finished = true;
  }

  #drawTty(): void {
    this.#drawn = true;
    // `\x1b[K` clears what a longer previous line left behind.
    this.#stream.write(`\r${this.#line(true)}\x1b[K`);
  }

  #line(bar: boolean): string {
    const { done, total, detail } = this.#state;
    const fraction = total === 0 ? 1 : Math.min(1, done / total);
    const percent = `${Math.floor(fraction * 100)}%`.padStart(4);
    const counts = `${done}/${total}`;
    const tail = detail ? `  ${detail}` : '';
    if (!bar) return `${this.#label} ${percent} (${counts})${tail}`;
    // The bar takes what the terminal's width leaves, between 10 and 40 cells.
    const head = `${this.#label} [`;
    const rest = `] ${percent} ${counts}${tail}`;
    const columns = this.#stream.columns ?? 80;
    const width = Math.max(10, Math.min(40, columns - 1 - head.length - rest.length));
    const filled = Math.round(fraction * width);
    return `${head}${'#'.repeat(filled)}${'-'.repeat(width - filled)}${rest}`;
  }

  /** True once something was drawn. */
  get drawn(): boolean {
    return this.#drawn || this.#lastTenth >= 0;
  }
}
