import { ExitCode } from '../errors.js';
import { flag, intOption, readAll, urlOption, write, type Command } from '../command.js';

export const put: Command = {
  name: 'put',
  aliases: ['set'],
  summary: 'write a value (`-` reads it from stdin)',
  usage: 'put <key> <value|-> [--ttl s] [--url U] [--json]',
  description:
    'Writes <value> at <key>, creating parent directories. With `-` the value is stdin, byte for byte\n' +
    '(a trailing newline included). With --ttl the key expires after that many seconds.\n' +
    'A value that starts with - goes after --: polykv put offset -- -5',
  options: {
    url: urlOption,
    ttl: { type: 'string', value: 's', help: 'seconds until the key expires (whole number >= 1)' },
    json: { type: 'boolean', help: 'print the written entry as JSON' },
  },
  args: { min: 2, max: 2, names: '<key> <value|->' },
  examples: [
    'polykv put app/features/dark-mode true --url consul://127.0.0.1:8500',
    'printf secret | polykv put app/database/password - --ttl 3600',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const given = context.positionals[1]!;
    const ttl = intOption(context, 'ttl', 1);
    const value = given === '-' ? await readAll(context.io.stdin, context.signal) : given;
    const store = await context.openDefault();
    const entry = await store.set(key, value, {
      signal: context.signal,
      ...(ttl !== undefined ? { ttl } : {}),
    });
    if (flag(context, 'json')) await write(context.io.stdout, `${JSON.stringify(entry)}\n`);
    return ExitCode.OK;
  },
};
