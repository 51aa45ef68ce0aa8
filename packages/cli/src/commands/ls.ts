import { ExitCode } from '../errors.js';
import { jsonOption, outputOf, outputOption, render } from '../output.js';
import { flag, urlOption, write, writeBytes, type Command } from '../command.js';

export const ls: Command = {
  name: 'ls',
  summary: 'list a directory (-r: everything below it)',
  usage: 'ls [dir] [-r] [--keys-only] [-o text|json|table|extended] [--url U]',
  description:
    'Lists the children of [dir] (default: the root of the URL), one key per line, sorted;\n' +
    'directories end with `/`, as `etcdctl ls -p` shows them. A missing path lists nothing.\n' +
    '-o json (or --json): an array of entries, values included, as `get -o json` prints them;\n' +
    '-o table and -o extended: as `get` prints them. --keys-only leaves the values and indexes out\n' +
    'of every output (-o json: an array of keys).',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'every descendant, not only the children' },
    'keys-only': { type: 'boolean', help: 'keys alone, in every output' },
    output: outputOption,
    json: jsonOption,
  },
  args: { min: 0, max: 1, names: '[dir]' },
  examples: ['polykv ls app -r --url consul://127.0.0.1:8500', 'polykv ls app -o json --keys-only'],
  async run(context) {
    const dir = context.positionals[0] ?? '';
    const output = outputOf(context);
    const store = await context.openDefault();
    const entries = await store.list(dir, { signal: context.signal, recursive: flag(context, 'recursive') });
    if (output === 'text')
      await write(
        context.io.stdout,
        entries.map((entry) => `${entry.key}${entry.dir ? '/' : ''}\n`).join(''),
      );
    else if (entries.length > 0 || output === 'json')
      await writeBytes(
        context.io.stdout,
        render(entries, output, {
          keysOnly: flag(context, 'keys-only'),
          flags: store.capabilities.flags,
        }),
      );
    return ExitCode.OK;
  },
};
