import { isPolykvError } from '@polykv/core';
import { CliError, ExitCode } from '../errors.js';
import { urlOption, type Command } from '../command.js';

export const rmdir: Command = {
  name: 'rmdir',
  summary: 'delete an empty directory',
  usage: 'rmdir <dir> [--url U]',
  description:
    'Deletes the directory <dir> if it is empty, as `etcdctl rmdir` does (on Consul: its folder key\n' +
    '`dir/`). A directory with something in it exits with 1 (IS_A_DIRECTORY: `rm -r` deletes it\n' +
    'and everything below), a key that holds a value with 1 (NOT_A_DIRECTORY: `rm` deletes it),\n' +
    'nothing at <dir> with 3.',
  options: { url: urlOption },
  args: { min: 1, max: 1, names: '<dir>' },
  exitCodes: [
    '1  <dir> is not empty (IS_A_DIRECTORY) or holds a value (NOT_A_DIRECTORY)',
    '3  nothing at <dir>',
  ],
  examples: ['polykv rmdir app/empty --url etcd://127.0.0.1:2379'],
  async run(context) {
    const dir = context.positionals[0]!;
    const store = await context.openDefault();
    const signal = context.signal;
    // The Store has no "delete only a directory": a key holding a value is refused here first.
    if (await store.get(dir, { signal, consistent: true }))
      throw new CliError('NOT_A_DIRECTORY', `${dir} holds a value, not a directory (rm deletes it)`);
    let deleted: boolean;
    try {
      deleted = await store.del(dir, { signal });
    } catch (error) {
      if (isPolykvError(error) && error.code === 'IS_A_DIRECTORY')
        throw new CliError(
          'IS_A_DIRECTORY',
          `${dir} is not empty (rm -r deletes it and everything below it)`,
          ExitCode.FAILURE,
          { cause: error },
        );
      throw error;
    }
    if (!deleted) throw new CliError('NOT_FOUND', `nothing at ${dir}`, ExitCode.NOT_FOUND);
    return ExitCode.OK;
  },
};
