import type { Entry } from '@polykv/core';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { jsonOption, outputOf, outputOption, render } from '../output.js';
import { flag, urlOption, writeBytes, type Command } from '../command.js';

export const get: Command = {
  name: 'get',
  summary: 'print the value at a key, byte for byte (-r: every value below it)',
  usage: 'get <key> [-r] [--raw | --detailed | -o text|json|table|extended] [--url U]',
  description:
    'Prints the value at <key> as the bytes the store holds, then a newline, as `consul kv get` and\n' +
    '`etcdctl get` do (--raw: without the newline). A missing key (or a directory) exits with 3.\n' +
    'With -r, every value at and below <key> (default: the root), one `key:value` line each, as\n' +
    '`consul kv get -recurse` prints them (the bytes as stored); nothing there exits with 3.\n' +
    '--detailed (or -o extended) prints the Key, Created-Index, Modified-Index, TTL (seconds left,\n' +
    '0: none), Expires, Flags, a blank line and the value, like `etcdctl -o extended get`.\n' +
    '-o json (or --json) prints the entry: key, value (UTF-8 text) or valueBase64 (any other bytes),\n' +
    'index, createIndex, expiresAt and flags (Consul Flags, when not 0); with -r an array.\n' +
    '-o table prints aligned columns: KEY VALUE INDEX CREATE-INDEX FLAGS TTL.',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'every value at and below <key>' },
    raw: { type: 'boolean', help: 'the value alone, without the newline after it (for files)' },
    detailed: { type: 'boolean', help: 'index, create index, TTL and flags too (= -o extended)' },
    output: outputOption,
    json: jsonOption,
  },
  args: { min: 0, max: 1, names: '<key>' },
  exitCodes: ['3  nothing at <key> (or it is a directory); with -r: no value at or below it'],
  examples: [
    'polykv get app/database/host --url etcd://127.0.0.1:2379',
    'polykv get app/logo.png --raw --url consul://127.0.0.1:8500 > logo.png',
    'polykv get app -r --url consul://127.0.0.1:8500',
    'polykv get app/database/host --detailed',
  ],
  async run(context) {
    const recursive = flag(context, 'recursive');
    const key = context.positionals[0];
    if (key === undefined && !recursive) throw new UsageError('get: missing <key>', context.name);
    const output = outputOf(context);
    if (flag(context, 'raw') && (recursive || output !== 'text'))
      throw new UsageError('--raw prints one value alone: not with -r, -o or --detailed', context.name);
    const store = await context.openDefault();
    const signal = context.signal;
    let entries: Entry<Uint8Array>[];
    if (!recursive) {
      const entry = await store.get(key!, { signal });
      entries = entry ? [entry] : [];
    } else {
      // The key's own value (a list of a key that holds a value is empty), then everything below it.
      const [own, below] = await Promise.all([
        key === undefined || key === '' ? null : store.get(key, { signal }),
        store.list(key ?? '', { signal, recursive: true }),
      ]);
      entries = [...(own ? [own] : []), ...below.filter((entry): entry is Entry<Uint8Array> => !entry.dir)];
    }
    if (entries.length === 0)
      throw new CliError(
        'NOT_FOUND',
        recursive ? `no value at or below ${key ?? 'the root'}` : `no value at ${key}`,
        ExitCode.NOT_FOUND,
      );
    const stdout = context.io.stdout;
    if (output !== 'text')
      await writeBytes(
        stdout,
        render(entries, output, { single: !recursive, flags: store.capabilities.flags }),
      );
    else if (recursive)
      await writeBytes(
        stdout,
        Buffer.concat(
          entries.flatMap((entry) => [Buffer.from(`${entry.key}:`), entry.value, Buffer.from('\n')]),
        ),
      );
    else if (flag(context, 'raw')) await writeBytes(stdout, entries[0]!.value);
    else await writeBytes(stdout, Buffer.concat([entries[0]!.value, Buffer.from('\n')]));
    return ExitCode.OK;
  },
};
