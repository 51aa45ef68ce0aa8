import { CliError, ExitCode } from '../errors.js';
import { flag, urlOption, write, type Command } from '../command.js';

export const get: Command = {
  name: 'get',
  summary: 'print the value at a key',
  usage: 'get <key> [--url U] [--json]',
  description:
    'Prints the value at <key> followed by a newline. A missing key (or a directory) exits with 3.\n' +
    'With --json, prints the entry: key, value, index, createIndex and expiresAt (for keys with a TTL).',
  options: {
    url: urlOption,
    json: { type: 'boolean', help: 'print the entry as one JSON object' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  exitCodes: ['3  nothing at <key> (or it is a directory)'],
  examples: ['polykv get app/database/host --url etcd://127.0.0.1:2379'],
  async run(context) {
    const key = context.positionals[0]!;
    const store = await context.openDefault();
    const entry = await store.get(key, { signal: context.signal });
    if (!entry) throw new CliError('NOT_FOUND', `no value at ${key}`, ExitCode.NOT_FOUND);
    await write(context.io.stdout, flag(context, 'json') ? `${JSON.stringify(entry)}\n` : `${entry.value}\n`);
    return ExitCode.OK;
  },
};
