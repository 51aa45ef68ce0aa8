import type { WatchEvent } from '@polykv/core';
import { flagsOf, textOf, toJson, valueFields } from '../bytes.js';
import { CliError, ExitCode, Interrupted, UsageError } from '../errors.js';
import { outputOf, outputOption } from '../output.js';
import { EventRunner } from '../watch-exec.js';
import { flag, intOption, urlOption, type Command } from '../command.js';

/** A value on one line: text with its line breaks escaped, other bytes as `base64:...`. */
function showValue(bytes: Uint8Array): string {
  const text = textOf(bytes);
  if (text === undefined) return `base64:${Buffer.from(bytes).toString('base64')}`;
  return text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n');
}

/** An event as --json prints it: a put's value as text or base64, as `get --json` does. */
function eventJson(event: WatchEvent<Uint8Array>): object {
  if (event.type !== 'put') return event;
  const { value, ...rest } = event;
  const flags = flagsOf(event);
  return { ...rest, ...valueFields(value), ...(flags !== undefined ? { flags } : {}) };
}

/** One event as a line of text: `put app/x = value (index 12)`. */
export function formatEvent(event: WatchEvent<Uint8Array>): string {
  const at = `(index ${event.index})`;
  switch (event.type) {
    case 'put':
      // One event, one line: a value's own line breaks are shown escaped.
      return `put ${event.key} = ${showValue(event.value)} ${at}${event.initial ? ' initial' : ''}`;
    case 'delete':
    case 'expire':
      return `${event.type} ${event.key} ${at}`;
    case 'resync':
      return `resync ${at}`;
  }
}

export const watch: Command = {
  name: 'watch',
  summary: 'print every change to a key or directory until Ctrl-C (--exec: run a command per change)',
  usage:
    'watch <key> [-r] [--from-index n] [--initial] [-o text|json] [--url U]\n' +
    '       watch <key> [-r] [--from-index n] [--initial] [--url U] --exec -- <cmd> [args...]',
  description:
    'Prints one line per change to <key> (with -r, to every key below it): put, delete, expire, and\n' +
    'resync (the store lost history; the lines before it caught up). With --from-index it first\n' +
    'replays every change from that index on. Values that are not UTF-8 text show as base64:...\n' +
    '(-o json / --json: one object per line, valueBase64). Connection failures are retried, each\n' +
    'noted on stderr. Runs until Ctrl-C (or SIGTERM), then closes the watch and exits with 130 (143).\n' +
    'With --exec, runs <cmd> once per change instead of printing it (etcdctl exec-watch), one run at\n' +
    'a time in the order of the changes (none is dropped while one runs). The command gets\n' +
    'POLYKV_WATCH_TYPE (put, delete, expire, resync), POLYKV_WATCH_KEY, POLYKV_WATCH_INDEX, for a put\n' +
    'POLYKV_WATCH_VALUE (when the value is text without NUL), POLYKV_WATCH_FLAGS (when not 0) and\n' +
    'POLYKV_WATCH_INITIAL=1 (--initial values), and the value, byte for byte, on stdin. A run that\n' +
    'fails is reported on stderr and the watch goes on; Ctrl-C is passed on to a running command.',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'watch every key below <key>' },
    'from-index': { type: 'string', value: 'n', help: 'replay every change from index n on' },
    initial: { type: 'boolean', help: 'first print the current value(s) as put events marked initial' },
    output: { ...outputOption, choices: ['text', 'json'], help: 'output: text (default) or json' },
    json: { type: 'boolean', help: 'one JSON object per line: type, key, value, index, ... (= -o json)' },
    exec: { type: 'boolean', help: 'run the command after -- once per change, instead of printing it' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  passThrough: { option: 'exec' },
  exitCodes: [
    '130  stopped by Ctrl-C (143: SIGTERM), the normal end',
    '1    the watch failed for good',
    '127  --exec: the command could not be run',
  ],
  examples: [
    'polykv watch app -r --url consul://127.0.0.1:8500',
    'polykv watch app/features -r --json --from-index 42',
    'polykv watch app/config --exec -- ./reload.sh',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const fromIndex = intOption(context, 'from-index', 1);
    const output = outputOf(context, ['text', 'json']);
    const exec = flag(context, 'exec');
    const [command, ...args] = context.rest;
    if (exec && command === undefined)
      throw new UsageError('watch --exec needs -- <command> [args...] at the end', context.name);
    if (exec && output !== 'text') throw new UsageError('--exec prints nothing: not with -o', context.name);
    const store = await context.openDefault();
    const watcher = store.watch(key, {
      signal: context.signal,
      recursive: flag(context, 'recursive'),
      ...(fromIndex !== undefined ? { fromIndex } : { initial: flag(context, 'initial') }),
    });
    const { stdout, stderr } = context.io;
    let cannotRun: NodeJS.ErrnoException | undefined;
    const runner =
      exec && command !== undefined
        ? new EventRunner(command, args, context.config.env, (problem) => {
            if (problem.kind === 'spawn') {
              cannotRun = problem.error;
              void watcher.close();
              return;
            }
            const { event, code, signal } = problem;
            const what = event.type === 'resync' ? 'resync' : `${event.type} ${event.key}`;
            stderr.write(
              `polykv: watch --exec: ${command} ${signal ? `was killed by ${signal}` : `exited with ${code}`} (${what}, index ${event.index})\n`,
            );
          })
        : undefined;
    let announced = false;
    watcher.on('change', (event) => {
      if (runner) runner.push(event);
      else stdout.write(`${output === 'json' ? toJson(eventJson(event)) : formatEvent(event)}\n`);
    });
    watcher.on('connected', () => {
      if (!announced) {
        announced = true;
        stderr.write(`watching ${key}${watcher.recursive ? ' and everything below it' : ''}; Ctrl-C stops\n`);
      } else stderr.write('watch reconnected\n');
    });
    watcher.on('disconnected', (cause) => {
      const reason = cause instanceof Error ? cause.message.split('\n')[0] : String(cause);
      stderr.write(`watch disconnected, retrying: ${reason}\n`);
    });
    // A watch may hold no socket or timer of its own (`memory://`, a backoff between retries):
    // without this the process would find nothing left to do and exit (13, an unsettled await).
    const keepAlive = setInterval(() => undefined, 2 ** 30);
    try {
      // Resolves when the watch is closed (Ctrl-C aborts context.signal, which closes it); rejects
      // with the terminal error, which the CLI reports as one line.
      await watcher.closed;
    } finally {
      clearInterval(keepAlive);
      // Ctrl-C is passed on to the command that runs (a terminal sends it to both; kill(1) does not).
      const reason: unknown = context.signal.reason;
      await runner?.stop(
        context.signal.aborted ? (reason instanceof Interrupted ? reason.signalName : 'SIGTERM') : undefined,
      );
    }
    if (cannotRun) {
      const notFound = cannotRun.code === 'ENOENT';
      throw new CliError(
        cannotRun.code ?? 'SPAWN_FAILED',
        `cannot run ${JSON.stringify(command)}: ${notFound ? 'command not found' : cannotRun.message}`,
        notFound ? ExitCode.CANNOT_RUN : 126,
        { cause: cannotRun },
      );
    }
    return ExitCode.OK;
  },
};
