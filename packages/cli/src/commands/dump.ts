import { buildTree, normalizeKey, parentPaths, type ListEntry, type UnlistedKey } from '@polykv/core';
import { flagsOf, plural, textOf } from '../bytes.js';
import { UsageError, ExitCode } from '../errors.js';
import {
  FORMATS,
  writeConsul,
  writeFlat,
  writePolykv,
  type Format,
  type Item,
  type Refusal,
} from '../formats.js';
import { flag, stringOption, urlOption, write, type Command, type Context } from '../command.js';

/** `--format`, checked; --tree is the flat format's nested form. */
export function formatOption(context: Context): Format {
  const format = stringOption(context, 'format') ?? 'flat';
  if (!(FORMATS as readonly string[]).includes(format))
    throw new UsageError(
      `--format must be one of ${FORMATS.join(', ')}, got ${JSON.stringify(format)}`,
      context.name,
    );
  return format as Format;
}

/**
 * The entries as dump items; `relative` strips the prefix (all formats but consul's). A directory
 * that only stands for an unlisted `dir/` key (a Consul key ending in / that holds a value) is left
 * out: the key is named instead, and a folder marker in its place would be a silent change.
 */
function itemsOf(
  entries: readonly ListEntry<Uint8Array>[],
  prefix: string,
  relative: boolean,
  unlisted: readonly UnlistedKey[],
): Item[] {
  const parents = parentPaths(entries.map((entry) => entry.key));
  const shadowed = new Set(unlisted.map(({ path }) => path));
  const items: Item[] = [];
  for (const entry of entries) {
    const key = relative && prefix !== '' ? entry.key.slice(prefix.length + 1) : entry.key;
    if (entry.dir) {
      if (shadowed.has(`${entry.key}/`)) continue;
      // A directory is data of its own when it is empty or has a TTL; else its keys imply it.
      const empty = !parents.has(entry.key);
      if (empty || entry.expiresAt)
        items.push({ key, dir: true, ...(entry.expiresAt ? { expiresAt: entry.expiresAt } : {}) });
      continue;
    }
    const flags = flagsOf(entry);
    items.push({
      key,
      value: entry.value,
      ...(flags !== undefined ? { flags } : {}),
      ...(entry.expiresAt ? { expiresAt: entry.expiresAt } : {}),
    });
  }
  return items;
}

/** The nested form (--tree): text values only; a key that holds a value and has children is refused. */
function writeTree(items: readonly Item[]): { text: string; refused: Refusal[] } {
  const flat = writeFlat(items);
  const carried = new Set(Object.keys(JSON.parse(flat.text) as object));
  const refused = [...flat.refused];
  const entries: ListEntry<string>[] = [];
  const parents = parentPaths(items.map((item) => item.key));
  for (const item of items) {
    if (item.dir) entries.push({ key: item.key, dir: true, index: 0, createIndex: 0 });
    else if (carried.has(item.key)) {
      if (parents.has(item.key)) {
        refused.push({
          key: item.key,
          reason: 'holds a value and has keys below it: a tree cannot hold both',
        });
        continue;
      }
      entries.push({ key: item.key, value: textOf(item.value!)!, index: 0, createIndex: 0 });
    }
  }
  return { text: `${JSON.stringify(buildTree(entries, '', false), null, 2)}\n`, refused };
}

export const dump: Command = {
  name: 'dump',
  summary: 'print every key below a prefix as JSON (flat, consul kv export, or lossless polykv)',
  usage: 'dump [--prefix p] [--format flat|consul|polykv] [--tree] [--url U]',
  description:
    'Prints every key below --prefix as one JSON document on stdout, which `polykv load` reads back.\n' +
    '  flat (default)  { "key": "text" }, keys relative to the prefix; --tree: nested objects. Holds\n' +
    '                  UTF-8 text only: a value with other bytes, flags or a TTL is not dumped but named.\n' +
    '                  Empty directories are left out (a note on stderr says how many).\n' +
    '  consul          exactly what `consul kv export` prints and `consul kv import` reads: keys as the\n' +
    '                  store names them (relative to the URL, the prefix included), flags, base64 values;\n' +
    '                  empty directories as Consul folder keys (`dir/`). Keys with a TTL are named, not dumped.\n' +
    '  polykv          lossless between any stores: bytes, flags, TTLs (expiresAt), empty directories.\n' +
    'Every key that is not dumped is named on stderr with the reason, and the exit code is 1; so are\n' +
    'keys the store holds but cannot list (a Consul key ending in / that holds a value).',
  options: {
    url: urlOption,
    prefix: { type: 'string', value: 'p', help: 'dump only this directory' },
    format: { type: 'string', value: 'f', choices: FORMATS, help: 'flat (default), consul or polykv' },
    tree: { type: 'boolean', help: 'flat format only: nested objects instead of a flat map' },
  },
  args: { min: 0, max: 0, names: '' },
  exitCodes: ['1  some keys were not dumped (each is named on stderr)'],
  examples: [
    'polykv dump --prefix app --url etcd://127.0.0.1:2379 > app.json',
    'polykv dump --prefix app --format consul --url etcd://127.0.0.1:2379 | consul kv import -',
    'polykv dump --format polykv --url consul://127.0.0.1:8500 > backup.json',
  ],
  async run(context) {
    const format = formatOption(context);
    const tree = flag(context, 'tree');
    if (tree && format !== 'flat') throw new UsageError('--tree is a form of the flat format', context.name);
    const prefix = normalizeKey(stringOption(context, 'prefix') ?? '', { root: true, argument: 'prefix' });
    const store = await context.openDefault();
    const entries = await store.list(prefix, { signal: context.signal, recursive: true, consistent: true });
    const unlisted = await store.unlisted(prefix, { signal: context.signal });
    const items = itemsOf(entries, prefix, format !== 'consul', unlisted);
    let output: { text: string; refused: Refusal[] };
    if (format === 'consul') output = writeConsul(items);
    else if (format === 'polykv') output = { text: writePolykv(items, { prefix }), refused: [] };
    else output = tree ? writeTree(items) : writeFlat(items);
    await write(context.io.stdout, output.text);
    const lines = [
      ...output.refused.map(({ key, reason }) => `  not dumped  ${key}  ${reason}`),
      ...unlisted.map(({ path, reason }) => `  not dumped  ${path}  ${reason}`),
    ];
    const emptyDirs = format === 'flat' ? items.filter((item) => item.dir && !item.expiresAt).length : 0;
    const notes: string[] = [];
    if (lines.length > 0)
      notes.push(
        `polykv: ${plural(lines.length, 'key')} not dumped` +
          (format === 'polykv' ? '' : ' (--format polykv keeps bytes, flags and TTLs)') +
          `:\n${lines.join('\n')}`,
      );
    if (emptyDirs > 0)
      notes.push(
        `polykv: note: ${plural(emptyDirs, 'empty directory', 'empty directories')} left out (the flat format has none)`,
      );
    if (notes.length > 0) context.io.stderr.write(`${notes.join('\n')}\n`);
    return lines.length > 0 ? ExitCode.FAILURE : ExitCode.OK;
  },
};
