import { entryJson, toJson } from '../bytes.js';
import { CliError, ExitCode } from '../errors.js';
import { flag, urlOption, write, writeBytes, type Command } from '../command.js';

export const get: Command = {
  name: 'get',
  summary: 'print the value at a key, byte for byte',
  usage: 'get <key> [--url U] [--raw | --json]',
  description:
    'Prints the value at <key> as the bytes the store holds, then a newline, as `consul kv get` and\n' +
    '`etcdctl get` do (--raw: without the newline). A missing key (or a directory) exits with 3.\n' +
    'With --json, prints the entry: key, value (UTF-8 text) or valueBase64 (any other bytes), index,\n' +
    'createIndex, expiresAt (keys with a TTL) and flags (Consul Flags, when not 0).',
  options: {
    url: urlOption,
    raw: { type: 'boolean', help: 'the value alone, without the newline after it (for files)' },
    json: { type: 'boolean', help: 'print the entry as one JSON object' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  exitCodes: ['3  nothing at <key> (or it is a directory)'],
  examples: [
    'polykv get app/database/host --url etcd://127.0.0.1:2379',
    'polykv get app/logo.png --raw --url consul://127.0.0.1:8500 > logo.png',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const store = await context.openDefault();
    const entry = await store.get(key, { signal: context.signal });
    if (!entry) throw new CliError('NOT_FOUND', `no value at ${key}`, ExitCode.NOT_FOUND);
    if (flag(context, 'json')) await write(context.io.stdout, `${toJson(entryJson(entry))}\n`);
    else if (flag(context, 'raw')) await writeBytes(context.io.stdout, entry.value);
    else await writeBytes(context.io.stdout, Buffer.concat([entry.value, Buffer.from('\n')]));
    return ExitCode.OK;
  },
};
