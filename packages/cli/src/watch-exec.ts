import { spawn } from 'node:child_process';
import type { WatchEvent } from '@polykv/core';
import { flagsOf, textOf } from './bytes.js';

// `polykv watch --exec -- <cmd>`: runs <cmd> once per change, like `etcdctl exec-watch`. One run at
// a time, in the order of the events: a change that arrives while <cmd> runs waits its turn, and
// none is dropped. The event is in the environment (POLYKV_WATCH_*) and a put's value, byte for
// byte, on the command's stdin.

/** The environment of one run: the event's type, key, index and (text) value. */
export function eventEnv(event: WatchEvent<Uint8Array>): Record<string, string> {
  const env: Record<string, string> = {
    POLYKV_WATCH_TYPE: event.type,
    POLYKV_WATCH_INDEX: String(event.index),
  };
  if (event.type === 'resync') return env;
  env.POLYKV_WATCH_KEY = event.key;
  if (event.type !== 'put') return env;
  if (event.initial) env.POLYKV_WATCH_INITIAL = '1';
  // An environment variable cannot hold a NUL, nor bytes that are not text: stdin has the bytes.
  const text = textOf(event.value);
  if (text !== undefined && !text.includes('\0')) env.POLYKV_WATCH_VALUE = text;
  const flags = flagsOf(event);
  if (flags !== undefined) env.POLYKV_WATCH_FLAGS = String(flags);
  return env;
}

/** How a run ended badly: it exited non-zero (reported, the watch goes on), or could not start. */
export type RunProblem =
  | { kind: 'exit'; event: WatchEvent<Uint8Array>; code: number | null; signal: NodeJS.Signals | null }
  | { kind: 'spawn'; error: NodeJS.ErrnoException };

/** Runs a command per event, one at a time, in order. */
export class EventRunner {
  readonly #queue: WatchEvent<Uint8Array>[] = [];
  #running: Promise<void> | undefined;
  #stopped = false;
  #current: ReturnType<typeof spawn> | undefined;

  constructor(
    private readonly command: string,
    private readonly args: readonly string[],
    private readonly env: Readonly<Record<string, string | undefined>>,
    private readonly onProblem: (problem: RunProblem) => void,
  ) {}

  push(event: WatchEvent<Uint8Array>): void {
    if (this.#stopped) return;
    this.#queue.push(event);
    this.#running ??= this.#drain().finally(() => (this.#running = undefined));
  }

  /** No further runs; the one running gets `signal` (if any) and is waited for. */
  async stop(signal?: NodeJS.Signals): Promise<void> {
    this.#stopped = true;
    this.#queue.length = 0;
    if (signal && this.#current && this.#current.exitCode === null) this.#current.kill(signal);
    await this.#running;
  }

  async #drain(): Promise<void> {
    for (let event = this.#queue.shift(); event && !this.#stopped; event = this.#queue.shift())
      await this.#run(event);
  }

  #run(event: WatchEvent<Uint8Array>): Promise<void> {
    return new Promise((resolve) => {
      const child = spawn(this.command, this.args, {
        stdio: ['pipe', 'inherit', 'inherit'],
        env: { ...this.env, ...eventEnv(event) },
      });
      this.#current = child;
      // A command that does not read its stdin may exit before the value is written: not an error.
      child.stdin.on('error', () => undefined);
      child.stdin.end(event.type === 'put' ? event.value : undefined);
      child.once('error', (error: NodeJS.ErrnoException) => {
        this.#stopped = true;
        this.onProblem({ kind: 'spawn', error });
        resolve();
      });
      child.once('exit', (code, signal) => {
        if (code !== 0) this.onProblem({ kind: 'exit', event, code, signal });
        resolve();
      });
    });
  }
}
