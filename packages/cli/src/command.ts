import type { ByteStore } from './bytes.js';
import type { CliConfig } from './config.js';
import { UsageError } from './errors.js';

/** Where a command reads and writes. The bin uses the process's streams; tests and the demo may pass others. */
export interface Io {
  /** Read as bytes when a value is given as `-` (`put key -`, `load -`). */
  stdin: NodeJS.ReadableStream;
  /** The commands' output: values, listings, JSON, help. */
  stdout: NodeJS.WritableStream & {
    /** True when stdout is a terminal, as on `process.stdout` (no command reads it yet). */
    isTTY?: boolean;
  };
  /** Errors (`polykv: <code>: <message>`), warnings and progress bars. */
  stderr: NodeJS.WritableStream & {
    /** True when stderr is a terminal: a progress bar then redraws one line instead of printing lines. */
    isTTY?: boolean;
    /** The terminal's width in characters, for the progress bar (80 when absent). */
    columns?: number;
  };
}

/** One option of a command, as `node:util` `parseArgs` takes it, plus its help. */
export interface OptionSpec {
  type: 'string' | 'boolean';
  short?: string;
  /** The value's placeholder in help, e.g. `s` for `--ttl s`. */
  value?: string;
  /** The option may be given more than once; its value is then a list (see {@link listOption}). */
  multiple?: boolean;
  /** The only values a string option takes (checked before the command runs; offered by completion). */
  choices?: readonly string[];
  help: string;
}

export type Values = Record<string, string | boolean | string[] | undefined>;

/** What a command gets to run. */
export interface Context {
  readonly name: string;
  readonly io: Io;
  readonly config: CliConfig;
  /** Aborted on Ctrl-C / SIGTERM: pass it to every store call. */
  readonly signal: AbortSignal;
  readonly positionals: readonly string[];
  readonly values: Values;
  /** The words after `--` (only for commands with `passThrough`). */
  readonly rest: readonly string[];
  /** Every command of the CLI (for `completion`, which describes them all). */
  readonly commands: readonly Command[];
  /**
   * Opens a store with `binaryCodec` (values are the stored bytes); the CLI closes it when the
   * command ends, whatever happens.
   */
  open(url: string): Promise<ByteStore>;
  /** `--url`, else the environment's (see config.ts); a usage error when there is none. */
  url(): string;
  /** {@link Context.url}, opened. */
  openDefault(): Promise<ByteStore>;
}

/** A `polykv` verb: one file in `commands/`, over the `Store` interface only. */
export interface Command {
  name: string;
  aliases?: string[];
  /** One line for `polykv --help`. */
  summary: string;
  /** The synopsis after `polykv `, e.g. `get <key> [--url U] [--json]`. */
  usage: string;
  /** A few lines for `polykv <command> --help`. */
  description: string;
  options: Record<string, OptionSpec>;
  /** Positional arguments: at least `min`, at most `max`. */
  args: { min: number; max: number; names: string };
  /**
   * Takes `-- <cmd> [args...]`: always (`true`), or only when the option `{ option }` is given
   * before the `--` (without it, `--` ends the options as usual).
   */
  passThrough?: true | { option: string };
  /** Exit codes specific to this command, for its help. */
  exitCodes?: string[];
  /**
   * The command handles Ctrl-C / SIGTERM itself (it stops a child or a daemon and reports), and the
   * code it returns then stands (instead of 130 / 143).
   */
  ownsInterrupt?: boolean;
  examples: string[];
  run(context: Context): Promise<number>;
}

/** The option every store command has. */
export const urlOption: OptionSpec = {
  type: 'string',
  value: 'U',
  help: 'the store URL (default: $POLYKV_URL)',
};

/** A whole number option, or `undefined` when absent; a usage error when not a whole number in range. */
export function intOption(context: Context, name: string, min: number): number | undefined {
  const text = context.values[name];
  if (typeof text !== 'string') return undefined;
  const value = /^-?\d+$/.test(text.trim()) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(
      `--${name} must be a whole number >= ${min}, got ${JSON.stringify(text)}`,
      context.name,
    );
  return value;
}

export function stringOption(context: Context, name: string): string | undefined {
  const value = context.values[name];
  return typeof value === 'string' ? value : undefined;
}

/** Every value of a `multiple` option, in the order given (`[]` when absent). */
export function listOption(context: Context, name: string): string[] {
  const value = context.values[name];
  if (Array.isArray(value)) return value;
  return typeof value === 'string' ? [value] : [];
}

export function flag(context: Context, name: string): boolean {
  return context.values[name] === true;
}

/** Writes `text` to a stream and resolves once it has been handed to the OS. */
export function write(stream: NodeJS.WritableStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    if (text === '') resolve();
    else stream.write(text, () => resolve());
  });
}

/** Writes bytes to a stream and resolves once they have been handed to the OS. */
export function writeBytes(stream: NodeJS.WritableStream, bytes: Uint8Array): Promise<void> {
  return new Promise((resolve) => {
    if (bytes.length === 0) resolve();
    else stream.write(bytes, () => resolve());
  });
}

/** Reads a whole stream (stdin, a file stream) as bytes, exactly. */
export async function readAll(stream: NodeJS.ReadableStream, signal?: AbortSignal): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) {
    signal?.throwIfAborted();
    chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  }
  return Buffer.concat(chunks);
}
