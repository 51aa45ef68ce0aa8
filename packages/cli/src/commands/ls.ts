import { entryJson, toJson } from '../bytes.js';
import { ExitCode } from '../errors.js';
import { flag, urlOption, write, type Command } from '../command.js';

export const ls: Command = {
  name: 'ls',
  summary: 'list a directory (-r: everything below it)',
  usage: 'ls [dir] [-r] [--url U] [--json]',
  description:
    'Lists the children of [dir] (default: the root of the URL), one key per line, sorted;\n' +
    'directories end with `/`. A missing path lists nothing. With --json, an array of entries\n' +
    '(values included, as `get --json` prints them).',
  options: {
    url: urlOption,
    recursive: { type: 'boolean', short: 'r', help: 'every descendant, not only the children' },
    json: { type: 'boolean', help: 'print a JSON array of entries (key, value or dir, index, ...)' },
  },
  args: { min: 0, max: 1, names: '[dir]' },
  examples: ['polykv ls app -r --url consul://127.0.0.1:8500'],
  async run(context) {
    const dir = context.positionals[0] ?? '';
    const store = await context.openDefault();
    const entries = await store.list(dir, { signal: context.signal, recursive: flag(context, 'recursive') });
    const text = flag(context, 'json')
      ? `${toJson(entries.map(entryJson))}\n`
      : entries.map((entry) => `${entry.key}${entry.dir ? '/' : ''}\n`).join('');
    await write(context.io.stdout, text);
    return ExitCode.OK;
  },
};
