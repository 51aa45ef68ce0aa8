import { createReadStream } from 'node:fs';
import {
  forEachLimit,
  isPolykvError,
  joinKey,
  normalizeKey,
  parseStoreUrl,
  type SetOptions,
} from '@polykv/core';
import { describeError, plural, textOf, type ByteStore } from '../bytes.js';
import { CliError, ExitCode } from '../errors.js';
import {
  detectFormat,
  FORMATS,
  parseDump,
  readConsul,
  readFlat,
  readPolykv,
  type Item,
  type Refusal,
} from '../formats.js';
import { flag, intOption, readAll, stringOption, urlOption, write, type Command } from '../command.js';
import { formatOption } from './dump.js';

/** What loading one item came to. */
type Outcome =
  | { kind: 'written'; note?: string }
  | { kind: 'skipped'; reason: string }
  | { kind: 'failed'; reason: string };

/** Writes one item (a directory or a value) the way the target can hold it, or says why not. */
async function loadItem(
  store: ByteStore,
  key: string,
  item: Item,
  options: { dropFlags: boolean; signal: AbortSignal },
): Promise<Outcome> {
  const notes: string[] = [];
  let ttl: number | undefined;
  if (item.expiresAt) {
    const left = Math.ceil((item.expiresAt.getTime() - Date.now()) / 1000);
    if (left <= 0) return { kind: 'skipped', reason: `expired at ${item.expiresAt.toISOString()}` };
    ttl = Math.max(left, store.capabilities.minTtl);
    if (ttl > left) notes.push(`ttl raised from ${left} s to ${ttl} s (the target's minimum)`);
  }
  let flags = item.flags;
  if (flags !== undefined && !store.capabilities.flags) {
    if (!options.dropFlags)
      return {
        kind: 'failed',
        reason: `UNREPRESENTABLE: flags ${flags}: ${store.kind} keeps no flags (--drop-flags loads the value without them)`,
      };
    notes.push(`flags ${flags} dropped (--drop-flags)`);
    flags = undefined;
  }
  const call: SetOptions = {
    signal: options.signal,
    ...(ttl !== undefined ? { ttl } : {}),
    ...(flags !== undefined ? { flags } : {}),
  };
  try {
    if (item.dir) await store.mkdir(key, call);
    else await store.set(key, item.value!, call);
  } catch (error) {
    if (options.signal.aborted) throw error;
    // An empty directory that is already there is what the dump asked for.
    if (item.dir && ttl === undefined && isPolykvError(error) && error.code === 'ALREADY_EXISTS')
      return { kind: 'skipped', reason: 'the directory exists' };
    return { kind: 'failed', reason: describeError(error) };
  }
  return notes.length > 0 ? { kind: 'written', note: notes.join('; ') } : { kind: 'written' };
}

export const load: Command = {
  name: 'load',
  summary: 'write the keys of a dump (flat, consul kv export or polykv) into a store',
  usage:
    'load [file|-] [--prefix p] [--format flat|consul|polykv] [--drop-flags] [--concurrency n] [--url U]',
  description:
    'Reads a dump from [file] (default, or `-`: stdin) and writes each key below --prefix. The format\n' +
    'is detected (or given with --format): a JSON array is a `consul kv export` (its keys are written\n' +
    'as they are, below --prefix; a key ending in / with a value cannot be held and is named), a\n' +
    'document with "format": "polykv" is a lossless polykv dump (bytes, flags, TTLs, directories),\n' +
    'anything else a flat or nested { "key": "value" } object (numbers, booleans, null and arrays\n' +
    "are written as their JSON text). Existing keys are overwritten. TTLs count from the dump's\n" +
    "expiresAt: expired keys are skipped, a TTL below the target's minimum is raised (both named).\n" +
    'Flags into a store without flags (etcd) fail unless --drop-flags. Exits with 1 if any key\n' +
    'failed (each is named).',
  options: {
    url: urlOption,
    prefix: { type: 'string', value: 'p', help: 'write every key below this directory' },
    format: {
      type: 'string',
      value: 'f',
      choices: FORMATS,
      help: 'flat, consul or polykv (default: detected)',
    },
    'drop-flags': {
      type: 'boolean',
      help: 'load values with flags into a store without flags, without them',
    },
    concurrency: { type: 'string', value: 'n', help: 'writes in flight at once (default 16)' },
  },
  args: { min: 0, max: 1, names: '[file|-]' },
  exitCodes: ['1  the input is not a dump, or at least one key failed'],
  examples: [
    'polykv load app.json --prefix app --url etcd://127.0.0.1:2379',
    'consul kv export app | polykv load --url etcd://127.0.0.1:2379',
    'polykv dump --format polykv --url etcd://127.0.0.1:2379 | polykv load --url consul://127.0.0.1:8500',
  ],
  async run(context) {
    const file = context.positionals[0] ?? '-';
    const where = file === '-' ? 'stdin' : file;
    const prefix = normalizeKey(stringOption(context, 'prefix') ?? '', { root: true, argument: 'prefix' });
    const concurrency = intOption(context, 'concurrency', 1) ?? 16;
    const given = stringOption(context, 'format') !== undefined ? formatOption(context) : undefined;
    const bytes = await readAll(file === '-' ? context.io.stdin : createReadStream(file), context.signal);
    const text = textOf(bytes);
    if (text === undefined) throw new CliError('BAD_INPUT', `${where} is not UTF-8 text (a dump is JSON)`);
    const data = parseDump(text, where);
    const format = given ?? detectFormat(data);
    let items: Item[];
    let refused: Refusal[] = [];
    if (format === 'consul') ({ items, refused } = readConsul(data));
    else if (format === 'polykv') items = readPolykv(data);
    else items = readFlat(data);

    const store = await context.openDefault();
    const target = (key: string): string => (prefix === '' ? key : joinKey(prefix, key));
    const lines: string[] = refused.map(({ key, reason }) => `  failed  ${key}  ${reason}`);
    let failed = refused.length;
    let keys = 0;
    let dirs = 0;
    const run = async (item: Item): Promise<void> => {
      const key = target(item.key);
      const outcome = await loadItem(store, key, item, {
        dropFlags: flag(context, 'drop-flags'),
        signal: context.signal,
      });
      if (outcome.kind === 'failed') {
        failed++;
        lines.push(`  failed  ${key}  ${outcome.reason}`);
      } else if (outcome.kind === 'skipped') lines.push(`  skipped  ${key}  ${outcome.reason}`);
      else {
        if (item.dir) dirs++;
        else keys++;
        if (outcome.note) lines.push(`  adjusted  ${key}  ${outcome.note}`);
      }
    };
    // Directories first, parents before children, so that a directory's TTL is set before its keys.
    const directories = items.filter((item) => item.dir).sort((a, b) => (a.key < b.key ? -1 : 1));
    for (const item of directories) await run(item);
    await forEachLimit(
      items.filter((item) => !item.dir),
      concurrency,
      context.signal,
      run,
    );
    const url = parseStoreUrl(context.url()).redacted;
    const what =
      dirs > 0
        ? `${plural(keys, 'key')} and ${plural(dirs, 'directory', 'directories')}`
        : plural(keys, 'key');
    const head = `loaded ${what} into ${url}${prefix ? ` below ${prefix}` : ''}; failed ${failed}`;
    await write(context.io.stdout, `${[head, ...lines.sort(byKey)].join('\n')}\n`);
    return failed > 0 ? ExitCode.FAILURE : ExitCode.OK;
  },
};

/** Sorts `  kind  key  reason` lines by key. */
function byKey(a: string, b: string): number {
  const key = (line: string): string => line.trim().split(/\s{2,}/)[1] ?? line;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}
