import { setMaxListeners } from 'node:events';
import { readFileSync } from 'node:fs';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { binaryCodec, isPolykvError, openStore } from '@polykv/core';
import type { ByteStore } from './bytes.js';
import { type Context, type Io, type Values } from './command.js';
import { commands, findCommand } from './commands/index.js';
import { describeSources, openOptions, readConfig, resolveUrl, secretsOf, type CliConfig } from './config.js';
import { CliError, ExitCode, Interrupted, UsageError } from './errors.js';
import { commandHelp, mainHelp } from './help.js';

/** Options of {@link runCli}. */
export interface RunOptions {
  /** Streams to use. @defaultValue the process's stdin, stdout and stderr */
  io?: Io;
  /** The environment to read (see config.ts). @defaultValue process.env */
  env?: Readonly<Record<string, string | undefined>>;
  /** Aborting it interrupts the command (the bin aborts it on SIGINT/SIGTERM with an {@link Interrupted}). */
  signal?: AbortSignal;
}

/** The CLI's version (its package.json's). */
export function version(): string {
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
    version: string;
  };
  return manifest.version;
}

/** One line, with every secret masked. */
function scrub(text: string, secrets: readonly string[]): string {
  let line = text.replace(/\s*\n\s*/g, ' ').trim();
  for (const secret of secrets) line = line.split(secret).join('***');
  return line;
}

/** The first line of each cause below `error`, for a short "(cause: ...)" suffix. */
function causeOf(error: unknown): string | undefined {
  const cause = (error as { cause?: unknown }).cause;
  if (cause === undefined || cause === null) return undefined;
  if (cause instanceof Error) {
    const code = (cause as { code?: unknown }).code;
    const own = `${typeof code === 'string' && !cause.message.includes(code) ? `${code} ` : ''}${cause.message}`;
    const deeper = causeOf(cause);
    return deeper && !own.includes(deeper) ? `${own}: ${deeper}` : own;
  }
  if (typeof cause === 'string') return cause;
  try {
    return JSON.stringify(cause) ?? typeof cause;
  } catch {
    return typeof cause;
  }
}

function report(error: unknown, io: Io, config: CliConfig, secrets: readonly string[]): number {
  let code: string;
  let message: string;
  let exitCode: number = ExitCode.FAILURE;
  if (error instanceof CliError) {
    ({ code, message, exitCode } = error);
    if (error instanceof UsageError)
      message += ` (see polykv ${error.command ? `${error.command} ` : ''}--help)`;
  } else if (isPolykvError(error)) {
    code = error.code;
    message = error.message;
    if (error.code === 'LOCK_LOST') exitCode = ExitCode.LOCK;
    if (error.code === 'NOT_FOUND') exitCode = ExitCode.NOT_FOUND;
  } else if (error instanceof Error) {
    const nodeCode = (error as { code?: unknown }).code;
    code = typeof nodeCode === 'string' ? nodeCode : 'ERROR';
    // Node's own messages start with the code ("ENOENT: no such file..."): say it once.
    message = error.message.startsWith(`${code}: `) ? error.message.slice(code.length + 2) : error.message;
  } else {
    code = 'ERROR';
    message = String(error);
  }
  io.stderr.write(`polykv: ${code}: ${scrub(message, secrets)}\n`);
  if (config.debug && error instanceof Error && error.stack) {
    // Debug output is for the person at the terminal, still without secrets.
    let stack = error.stack;
    for (const secret of secrets) stack = stack.split(secret).join('***');
    io.stderr.write(`${stack}\n`);
    const cause = causeOf(error);
    if (cause) io.stderr.write(`caused by: ${scrub(cause, secrets)}\n`);
  }
  return exitCode;
}

function parse(
  args: string[],
  options: NonNullable<ParseArgsConfig['options']>,
  command: string,
): { values: Values; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options, allowPositionals: true, strict: true });
    return { values: values as Values, positionals };
  } catch (error) {
    // parseArgs' messages are good ("Unknown option '--x'") but mention `--` hints meant for code.
    const message = error instanceof Error ? error.message.split('. ')[0]! : String(error);
    throw new UsageError(message.replace(/^Unknown option/, 'unknown option'), command);
  }
}

/**
 * Runs one `polykv` command line (`argv` without `node` and the script) and resolves its exit code.
 * Never throws, never exits the process: errors are reported as one line on `io.stderr`. Stores it
 * opened are closed before it resolves.
 */
export async function runCli(argv: readonly string[], options: RunOptions = {}): Promise<number> {
  const io: Io = options.io ?? { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr };
  const config = readConfig(options.env);
  // One signal for every call of the command: `copy` and `load` have 16 calls in flight, each
  // listening to it, so lift Node's 10-listener warning on a signal of our own.
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  const outer = options.signal;
  const forward = (): void => controller.abort(outer?.reason);
  if (outer?.aborted) forward();
  else outer?.addEventListener('abort', forward, { once: true });
  const signal = controller.signal;
  const stores: ByteStore[] = [];
  const urls: string[] = [];
  const secrets = (): string[] => secretsOf(config, urls);
  try {
    const [name, ...words] = argv;
    if (name === undefined) {
      io.stderr.write(mainHelp(version()));
      return ExitCode.USAGE;
    }
    if (name === '-h' || name === '--help' || (name === 'help' && words.length === 0)) {
      io.stdout.write(mainHelp(version()));
      return ExitCode.OK;
    }
    if (name === '-v' || name === '--version') {
      io.stdout.write(`${version()}\n`);
      return ExitCode.OK;
    }
    if (name === 'help') {
      const command = findCommand(words[0]!);
      if (!command) throw new UsageError(`unknown command ${JSON.stringify(words[0])}`);
      io.stdout.write(commandHelp(command));
      return ExitCode.OK;
    }
    const command = findCommand(name);
    if (!command)
      throw new UsageError(
        name.startsWith('-')
          ? `expected a command before ${name}`
          : `unknown command ${JSON.stringify(name)}`,
      );
    let own = words;
    let rest: string[] = [];
    const dashes = words.indexOf('--');
    const passThrough =
      command.passThrough === true ||
      (command.passThrough !== undefined &&
        words.slice(0, dashes).includes(`--${command.passThrough.option}`));
    if (passThrough && dashes !== -1) {
      own = words.slice(0, dashes);
      rest = words.slice(dashes + 1);
    }
    const { values, positionals } = parse(
      own,
      // A command's own spelling wins (mirror's --verbose is also -v; it says more there).
      { help: { type: 'boolean', short: 'h' }, verbose: { type: 'boolean' }, ...command.options },
      command.name,
    );
    if (values.help) {
      io.stdout.write(commandHelp(command));
      return ExitCode.OK;
    }
    if (command.passThrough === true && dashes === -1)
      throw new UsageError(`${command.name} needs -- <command> [args...] at the end`, command.name);
    for (const [option, spec] of Object.entries(command.options)) {
      const given = values[option];
      if (spec.choices && typeof given === 'string' && !spec.choices.includes(given))
        throw new UsageError(
          `--${option} must be one of ${spec.choices.join(', ')}, got ${JSON.stringify(given)}`,
          command.name,
        );
    }
    const { min, max, names } = command.args;
    if (positionals.length < min || positionals.length > max) {
      const what =
        positionals.length < min
          ? `missing ${names.split(' ')[positionals.length] ?? 'arguments'}`
          : `unexpected argument ${JSON.stringify(positionals[max])}`;
      throw new UsageError(`${command.name}: ${what}`, command.name);
    }
    const urlFlag = typeof values.url === 'string' ? values.url : undefined;
    // `flag`: the command-line text the URL came from; undefined when it came from the environment.
    const open = async (url: string, flag: string | undefined): Promise<ByteStore> => {
      urls.push(url);
      if (values.verbose)
        for (const line of describeSources(url, flag, config)) io.stderr.write(`polykv: ${line}\n`);
      // Every store the CLI opens carries bytes: nothing is decoded or re-encoded on the way.
      const store = await openStore(url, { ...openOptions(url, config), codec: binaryCodec });
      stores.push(store);
      return store;
    };
    const context: Context = {
      name: command.name,
      io,
      config,
      signal,
      positionals,
      values,
      rest,
      commands,
      url: () => resolveUrl(urlFlag, config, command.name),
      open: (url) => open(url, url),
      openDefault: () => open(context.url(), urlFlag),
    };
    const code = await command.run(context);
    return signal.aborted && !command.ownsInterrupt ? interruptedCode(signal) : code;
  } catch (error) {
    if (signal.aborted) {
      io.stderr.write('polykv: interrupted\n');
      return interruptedCode(signal);
    }
    return report(error, io, config, secrets());
  } finally {
    outer?.removeEventListener('abort', forward);
    await Promise.all(stores.map((store) => store.close({ timeout: 2000 }).catch(() => undefined)));
  }
}

function interruptedCode(signal: AbortSignal): number {
  const reason: unknown = signal.reason;
  return reason instanceof Interrupted ? reason.exitCode : ExitCode.INTERRUPTED;
}
