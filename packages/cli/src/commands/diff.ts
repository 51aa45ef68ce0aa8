import { diff as diffStores } from '@polykv/core';
import { ExitCode } from '../errors.js';
import { flag, stringOption, write, type Command } from '../command.js';

export const diff: Command = {
  name: 'diff',
  summary: 'compare the values in two stores (exit 0: same, 1: different)',
  usage: 'diff <urlA> <urlB> [--prefix p] [--json]',
  description:
    'Compares every value (and its flags) below --prefix (default: everything) in two stores, byte\n' +
    'for byte. Prints one line per difference, sorted by kind: `- key` (only in A), `+ key` (only in\n' +
    'B), `~ key` (different values or flags), `? A key` / `? B key` (a key that store holds but cannot\n' +
    'list, so it cannot be compared: the reason follows); nothing when they hold the same data. A\n' +
    'count goes to stderr. Directories are not compared (Consul has none of its own).',
  options: {
    prefix: { type: 'string', value: 'p', help: 'compare only this directory (same path on both sides)' },
    json: { type: 'boolean', help: 'print { missing, extra, different, unlisted } as JSON' },
  },
  args: { min: 2, max: 2, names: '<urlA> <urlB>' },
  exitCodes: [
    '0  the stores hold the same values',
    '1  they differ, a key could not be compared, or the comparison failed',
  ],
  examples: ['polykv diff etcd://127.0.0.1:2379 consul://127.0.0.1:8500 --prefix app'],
  async run(context) {
    const a = await context.open(context.positionals[0]!);
    const b = await context.open(context.positionals[1]!);
    const prefix = stringOption(context, 'prefix');
    const result = await diffStores(a, b, {
      signal: context.signal,
      ...(prefix !== undefined ? { prefix } : {}),
    });
    const unlisted = result.unlisted;
    const count = result.missing.length + result.extra.length + result.different.length;
    if (flag(context, 'json')) await write(context.io.stdout, `${JSON.stringify(result)}\n`);
    else {
      const lines = [
        ...result.missing.map((key) => `- ${key}`),
        ...result.extra.map((key) => `+ ${key}`),
        ...result.different.map((key) => `~ ${key}`),
        ...unlisted.map(({ side, path, reason }) => `? ${side.toUpperCase()} ${path}  ${reason}`),
      ];
      await write(context.io.stdout, lines.map((line) => `${line}\n`).join(''));
    }
    const parts =
      count === 0
        ? ['no differences']
        : [
            `${count} difference${count === 1 ? '' : 's'}: ${result.missing.length} only in A (-), ${result.extra.length} only in B (+), ${result.different.length} different (~)`,
          ];
    if (unlisted.length > 0)
      parts.push(`${unlisted.length} key${unlisted.length === 1 ? '' : 's'} not compared (?)`);
    context.io.stderr.write(`${parts.join('; ')}\n`);
    return count === 0 && unlisted.length === 0 ? ExitCode.OK : ExitCode.FAILURE;
  },
};
