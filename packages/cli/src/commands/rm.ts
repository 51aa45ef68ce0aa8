import { CliError, ExitCode } from '../errors.js';
import { flag, urlOption, type Command } from '../command.js';

export const rm: Command = {
  name: 'rm',
  aliases: ['del'],
  summary: 'delete a key (-r: a directory and everything below it)',
  usage: 'rm <key> [-r] [--url U]',
  description:
    'Deletes <key>. A directory with something below it needs -r. Nothing at <key> exits with 3\n' +
    '(--force: exit 0 anyway).',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'delete a directory and everything below it' },
    force: { type: 'boolean', short: 'f', help: 'exit 0 when nothing was there' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  exitCodes: ['3  nothing at <key> (without --force)'],
  examples: ['polykv rm app/upstreams -r --url etcd://127.0.0.1:2379'],
  async run(context) {
    const key = context.positionals[0]!;
    const store = await context.openDefault();
    const deleted = await store.del(key, { signal: context.signal, recursive: flag(context, 'recursive') });
    if (!deleted && !flag(context, 'force'))
      throw new CliError('NOT_FOUND', `nothing at ${key}`, ExitCode.NOT_FOUND);
    return ExitCode.OK;
  },
};
