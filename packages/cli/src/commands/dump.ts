import { loadConfig, normalizeKey } from '@polykv/core';
import { ExitCode } from '../errors.js';
import { flag, stringOption, urlOption, write, type Command } from '../command.js';

export const dump: Command = {
  name: 'dump',
  summary: 'print every key below a prefix as JSON',
  usage: 'dump [--prefix p] [--tree] [--url U]',
  description:
    'Prints every value below --prefix as one JSON object on stdout: a flat map { "key": "value" }\n' +
    'with keys relative to the prefix, which `polykv load` reads back. With --tree, the nested\n' +
    'object loadConfig() gives ({ "database": { "host": ... } }; empty directories as {}).\n' +
    'Empty directories are not in the flat map.',
  options: {
    url: urlOption,
    prefix: { type: 'string', value: 'p', help: 'dump only this directory; keys are relative to it' },
    tree: { type: 'boolean', help: 'the nested object of loadConfig() instead of a flat map' },
  },
  args: { min: 0, max: 0, names: '' },
  examples: [
    'polykv dump --prefix app --url etcd://127.0.0.1:2379 > app.json',
    'polykv dump --prefix app --tree --url consul://127.0.0.1:8500',
  ],
  async run(context) {
    const prefix = normalizeKey(stringOption(context, 'prefix') ?? '', { root: true, argument: 'prefix' });
    const store = await context.openDefault();
    let output: Record<string, unknown>;
    if (flag(context, 'tree')) {
      output = await loadConfig(store, prefix, { signal: context.signal });
    } else {
      output = {};
      const entries = await store.list(prefix, { signal: context.signal, recursive: true, consistent: true });
      for (const entry of entries) {
        if (entry.dir) continue;
        output[prefix === '' ? entry.key : entry.key.slice(prefix.length + 1)] = entry.value;
      }
    }
    await write(context.io.stdout, `${JSON.stringify(output, null, 2)}\n`);
    return ExitCode.OK;
  },
};
