import { diff as diffStores } from '@polykv/core';
import { ExitCode } from '../errors.js';
import { flag, stringOption, write, type Command } from '../command.js';

export const diff: Command = {
  name: 'diff',
  summary: 'compare the values in two stores (exit 0: same, 1: different)',
  usage: 'diff <urlA> <urlB> [--prefix p] [--json]',
  description:
    'Compares every value below --prefix (default: everything) in two stores, byte for byte. Prints\n' +
    'one line per difference, sorted by kind: `- key` (only in A), `+ key` (only in B), `~ key`\n' +
    '(different values); nothing when they hold the same data. A count goes to stderr.\n' +
    'Directories are not compared (Consul has none of its own).',
  options: {
    prefix: { type: 'string', value: 'p', help: 'compare only this directory (same path on both sides)' },
    json: { type: 'boolean', help: 'print { missing, extra, different } as JSON' },
  },
  args: { min: 2, max: 2, names: '<urlA> <urlB>' },
  exitCodes: ['0  the stores hold the same values', '1  they differ (or the comparison failed)'],
  examples: ['polykv diff etcd://127.0.0.1:2379 consul://127.0.0.1:8500 --prefix app'],
  async run(context) {
    const a = await context.open(context.positionals[0]!);
    const b = await context.open(context.positionals[1]!);
    const prefix = stringOption(context, 'prefix');
    const result = await diffStores(a, b, {
      signal: context.signal,
      ...(prefix !== undefined ? { prefix } : {}),
    });
    // Keys a side holds but cannot list are not compared: they count as differences (exit 1).
    const count =
      result.missing.length + result.extra.length + result.different.length + result.unlisted.length;
    if (flag(context, 'json')) await write(context.io.stdout, `${JSON.stringify(result)}\n`);
    else {
      const lines = [
        ...result.missing.map((key) => `- ${key}`),
        ...result.extra.map((key) => `+ ${key}`),
        ...result.different.map((key) => `~ ${key}`),
        ...result.unlisted.map(({ side, path, reason }) => `? ${side.toUpperCase()} ${path}  (${reason})`),
      ];
      await write(context.io.stdout, lines.map((line) => `${line}\n`).join(''));
    }
    context.io.stderr.write(
      count === 0
        ? 'no differences\n'
        : `${count} difference${count === 1 ? '' : 's'}: ${result.missing.length} only in A (-), ${result.extra.length} only in B (+), ${result.different.length} different (~)` +
            `${result.unlisted.length > 0 ? `, ${result.unlisted.length} not listable (?)` : ''}\n`,
    );
    return count === 0 ? ExitCode.OK : ExitCode.FAILURE;
  },
};
