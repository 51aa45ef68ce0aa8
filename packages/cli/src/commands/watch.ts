import type { WatchEvent } from '@polykv/core';
import { flagsOf, textOf, toJson, valueFields } from '../bytes.js';
import { ExitCode } from '../errors.js';
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
  summary: 'print every change to a key or directory until Ctrl-C',
  usage: 'watch <key> [-r] [--from-index n] [--initial] [--url U] [--json]',
  description:
    'Prints one line per change to <key> (with -r, to every key below it): put, delete, expire, and\n' +
    'resync (the store lost history; the lines before it caught up). With --from-index it first\n' +
    'replays every change from that index on. Values that are not UTF-8 text show as base64:...\n' +
    '(--json: valueBase64). Connection failures are retried, each noted on stderr.\n' +
    'Runs until Ctrl-C (or SIGTERM), then closes the watch and exits with 130 (143).',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'watch every key below <key>' },
    'from-index': { type: 'string', value: 'n', help: 'replay every change from index n on' },
    initial: { type: 'boolean', help: 'first print the current value(s) as put events marked initial' },
    json: { type: 'boolean', help: 'one JSON object per line: type, key, value, index, ...' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  exitCodes: ['130  stopped by Ctrl-C (143: SIGTERM), the normal end', '1    the watch failed for good'],
  examples: [
    'polykv watch app -r --url consul://127.0.0.1:8500',
    'polykv watch app/features -r --json --from-index 42',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const fromIndex = intOption(context, 'from-index', 1);
    const json = flag(context, 'json');
    const store = await context.openDefault();
    const watcher = store.watch(key, {
      signal: context.signal,
      recursive: flag(context, 'recursive'),
      ...(fromIndex !== undefined ? { fromIndex } : { initial: flag(context, 'initial') }),
    });
    const { stdout, stderr } = context.io;
    let announced = false;
    watcher.on('change', (event) => {
      const line = json ? toJson(eventJson(event)) : formatEvent(event);
      stdout.write(`${line}\n`);
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
    }
    return ExitCode.OK;
  },
};
