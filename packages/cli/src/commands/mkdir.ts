import { ExitCode } from '../errors.js';
import { intOption, urlOption, type Command } from '../command.js';

export const mkdir: Command = {
  name: 'mkdir',
  summary: 'create an empty directory',
  usage: 'mkdir <dir> [--ttl s] [--url U]',
  description:
    'Creates the empty directory <dir> (and its parents), as `etcdctl mkdir` does; on Consul a folder\n' +
    'key `dir/` (empty, flags 0), as `consul kv put dir/` makes. Anything already at <dir> exits\n' +
    'with 1 (ALREADY_EXISTS). With --ttl the directory and everything in it expire (etcd and\n' +
    'memory://; Consul has no directory TTL: NOT_SUPPORTED).',
  options: {
    url: urlOption,
    ttl: { type: 'string', value: 's', help: 'seconds until the directory expires' },
  },
  args: { min: 1, max: 1, names: '<dir>' },
  exitCodes: ['1  something is already at <dir> (ALREADY_EXISTS)'],
  examples: ['polykv mkdir app/empty --url etcd://127.0.0.1:2379'],
  async run(context) {
    const ttl = intOption(context, 'ttl', 1);
    const store = await context.openDefault();
    await store.mkdir(context.positionals[0]!, {
      signal: context.signal,
      ...(ttl !== undefined ? { ttl } : {}),
    });
    return ExitCode.OK;
  },
};
