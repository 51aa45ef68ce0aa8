import { isPolykvError, type DeleteCondition } from '@polykv/core';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { flag, intOption, stringOption, urlOption, type Command } from '../command.js';
import { prevValueBytes } from './put.js';

export const rm: Command = {
  name: 'rm',
  aliases: ['del'],
  summary: 'delete a key (-r: a directory and everything below it; --prev-*: only if unchanged)',
  usage: 'rm <key> [-r | --prev-value v [--base64] | --prev-index n] [-f] [--url U]',
  description:
    'Deletes <key>. A directory with something below it needs -r. Nothing at <key> exits with 3\n' +
    '(--force: exit 0 anyway).\n' +
    '--prev-value v deletes only if the value is v (etcdctl rm --with-value; with --base64, v is\n' +
    "base64), --prev-index n only if the key's index is n (consul kv delete -cas -modify-index=n,\n" +
    'etcdctl rm --with-index): else COMPARE_FAILED, exit 1, nothing deleted.',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'delete a directory and everything below it' },
    force: { type: 'boolean', short: 'f', help: 'exit 0 when nothing was there' },
    'prev-value': { type: 'string', value: 'v', help: 'delete only if the current value is v' },
    'prev-index': { type: 'string', value: 'n', help: "delete only if the key's index is n" },
    base64: { type: 'boolean', help: '--prev-value is base64' },
  },
  args: { min: 1, max: 1, names: '<key>' },
  exitCodes: [
    '1  --prev-value / --prev-index did not match (COMPARE_FAILED): nothing was deleted',
    '3  nothing at <key> (without --force)',
  ],
  examples: [
    'polykv rm app/upstreams -r --url etcd://127.0.0.1:2379',
    'polykv rm app/leader --prev-value me',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const prevValue = stringOption(context, 'prev-value');
    const prevIndex = intOption(context, 'prev-index', 1);
    const recursive = flag(context, 'recursive');
    const given = [
      ...(recursive ? ['-r'] : []),
      ...(prevValue !== undefined ? ['--prev-value'] : []),
      ...(prevIndex !== undefined ? ['--prev-index'] : []),
    ];
    if (given.length > 1) throw new UsageError(`give one of ${given.join(', ')}`, context.name);
    const store = await context.openDefault();
    const missing = (): number => {
      if (flag(context, 'force')) return ExitCode.OK;
      throw new CliError('NOT_FOUND', `nothing at ${key}`, ExitCode.NOT_FOUND);
    };
    if (prevValue !== undefined || prevIndex !== undefined) {
      const condition: DeleteCondition<Uint8Array> =
        prevIndex !== undefined ? { prevIndex } : { prevValue: prevValueBytes(context, prevValue!) };
      try {
        await store.compareAndDelete(key, condition, { signal: context.signal });
      } catch (error) {
        if (isPolykvError(error) && error.code === 'NOT_FOUND') return missing();
        throw error;
      }
      return ExitCode.OK;
    }
    const deleted = await store.del(key, { signal: context.signal, recursive });
    return deleted ? ExitCode.OK : missing();
  },
};
