import { InvalidArgumentError } from './errors.js';

/**
 * How long to wait after a change before acting on it (ms): `min` of quiet (each further change
 * starts it again), but never more than `max` after the first change of a burst, so a store that
 * never stops changing still gets its changes through. The rule of consul-template's `wait`.
 */
export interface DebounceWait {
  /** Quiet time in ms: act once this long has passed without a further change (>= 0). */
  min: number;
  /** `Infinity`: no limit. @defaultValue 4 × `min` */
  max?: number;
}

/** Checks a {@link DebounceWait} and fills in `max`. */
export function checkDebounceWait(wait: unknown, argument = 'wait'): Required<DebounceWait> {
  const { min, max } = (wait ?? {}) as Partial<DebounceWait>;
  const ok = (value: unknown): value is number =>
    typeof value === 'number' && Number.isFinite(value) && value >= 0;
  if (typeof wait !== 'object' || wait === null || !ok(min))
    throw new InvalidArgumentError(argument, `${argument} must be { min, max? } in ms, min >= 0`);
  const upper = max ?? 4 * min;
  if (!(ok(upper) || upper === Infinity) || upper < min)
    throw new InvalidArgumentError(argument, `${argument}.max must be a number of ms >= min (${min})`);
  return { min, max: upper };
}

/**
 * Calls `fire` once per burst of {@link Debouncer.poke} calls: after `min` ms without a poke, or
 * `max` ms after the burst's first poke, whichever comes first.
 */
export class Debouncer {
  readonly #fire: () => void;
  readonly #wait: Required<DebounceWait>;
  #quiet: NodeJS.Timeout | undefined;
  #limit: NodeJS.Timeout | undefined;

  /** `fire` is called once per burst; `wait` is checked as {@link checkDebounceWait} does. */
  constructor(fire: () => void, wait: DebounceWait) {
    this.#fire = fire;
    this.#wait = checkDebounceWait(wait);
  }

  /** True while a burst waits to fire. */
  get pending(): boolean {
    return this.#quiet !== undefined;
  }

  /** A change: (re)start the quiet period; the first change of a burst also starts the limit. */
  poke(): void {
    clearTimeout(this.#quiet);
    this.#quiet = setTimeout(() => this.#run(), this.#wait.min);
    if (this.#wait.max !== Infinity) this.#limit ??= setTimeout(() => this.#run(), this.#wait.max);
  }

  /** Drops a waiting burst. */
  cancel(): void {
    clearTimeout(this.#quiet);
    clearTimeout(this.#limit);
    this.#quiet = undefined;
    this.#limit = undefined;
  }

  #run(): void {
    this.cancel();
    this.#fire();
  }
}
