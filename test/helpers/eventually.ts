import assert from 'node:assert/strict';
import { inspect } from 'node:util';

/** Options of {@link eventually}. */
export interface EventuallyOptions {
  /** How long to keep polling, in ms: a liveness bound, generous, never a timing assertion. @defaultValue 30000 */
  ms?: number;
  /** The pause between two checks, in ms. @defaultValue 50 */
  every?: number;
  /** What to show beside `what` when it times out (the state the check was waiting on). */
  state?: () => string | Promise<string>;
}

/**
 * Polls `check` until it holds; fails after `options.ms` naming `what`. A check that throws or
 * rejects counts as "not yet" (a server that is restarting answers with errors for a while); its
 * last error is in the failure.
 */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  what: string | (() => string),
  { ms = 30_000, every = 50, state }: EventuallyOptions = {},
): Promise<void> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      if (await check()) return;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const name = typeof what === 'string' ? what : what();
      const shown = state ? `: ${await state()}` : '';
      const cause = lastError === undefined ? '' : ` (last error: ${inspect(lastError)})`;
      assert.fail(`timed out after ${ms} ms waiting for ${name}${shown}${cause}`);
    }
    await new Promise((resolve) => setTimeout(resolve, every));
  }
}
