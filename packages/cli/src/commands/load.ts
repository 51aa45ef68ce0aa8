import { createReadStream } from 'node:fs';
import { forEachLimit, isPolykvError, joinKey, normalizeKey, parseStoreUrl } from '@polykv/core';
import { CliError, ExitCode } from '../errors.js';
import { intOption, readAll, stringOption, urlOption, write, type Command } from '../command.js';

/**
 * Flattens a JSON object into `key → value` pairs: nested objects become `/`-joined paths, strings
 * stay as they are, and any other value (number, boolean, null, array) is stored as its JSON text.
 */
export function flatten(data: Record<string, unknown>, base = ''): [key: string, value: string][] {
  const pairs: [string, string][] = [];
  for (const [name, value] of Object.entries(data)) {
    const key = base === '' ? name : `${base}/${name}`;
    if (typeof value === 'string') pairs.push([key, value]);
    else if (typeof value === 'object' && value !== null && !Array.isArray(value))
      pairs.push(...flatten(value as Record<string, unknown>, key));
    else pairs.push([key, JSON.stringify(value)]);
  }
  return pairs;
}

export const load: Command = {
  name: 'load',
  summary: 'write the keys of a JSON file (a dump) into a store',
  usage: 'load [file|-] [--prefix p] [--concurrency n] [--url U]',
  description:
    'Reads a JSON object from [file] (default, or `-`: stdin) and writes each key below --prefix:\n' +
    'the flat map `polykv dump` prints, or nested objects (flattened with `/`). Strings are written\n' +
    'as they are; numbers, booleans, null and arrays as their JSON text. Existing keys are\n' +
    'overwritten. Exits with 1 if any key failed (each is listed).',
  options: {
    url: urlOption,
    prefix: { type: 'string', value: 'p', help: 'write every key below this directory' },
    concurrency: { type: 'string', value: 'n', help: 'writes in flight at once (default 16)' },
  },
  args: { min: 0, max: 1, names: '[file|-]' },
  exitCodes: ['1  the input is not a JSON object, or at least one key failed'],
  examples: [
    'polykv load app.json --prefix app --url etcd://127.0.0.1:2379',
    'polykv dump --url etcd://127.0.0.1:2379 | polykv load --url consul://127.0.0.1:8500',
  ],
  async run(context) {
    const file = context.positionals[0] ?? '-';
    const prefix = normalizeKey(stringOption(context, 'prefix') ?? '', { root: true, argument: 'prefix' });
    const concurrency = intOption(context, 'concurrency', 1) ?? 16;
    const text = await readAll(file === '-' ? context.io.stdin : createReadStream(file), context.signal);
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (cause) {
      const where = file === '-' ? 'stdin' : file;
      throw new CliError('BAD_INPUT', `${where} is not JSON: ${(cause as Error).message}`, ExitCode.FAILURE);
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data))
      throw new CliError('BAD_INPUT', 'the input must be a JSON object { "key": "value", ... }');
    const pairs = flatten(data as Record<string, unknown>).map(
      ([key, value]) => [prefix === '' ? key : joinKey(prefix, key), value] as const,
    );
    const store = await context.openDefault();
    const failed: string[] = [];
    let written = 0;
    await forEachLimit(pairs, concurrency, context.signal, async ([key, value]) => {
      try {
        await store.set(key, value, { signal: context.signal });
        written++;
      } catch (error) {
        if (context.signal.aborted) throw error;
        const reason = isPolykvError(error) ? `${error.code}: ${error.message}` : String(error);
        failed.push(`  failed  ${key}  ${reason.split('\n')[0]}`);
      }
    });
    const url = parseStoreUrl(context.url()).redacted;
    const lines = [
      `loaded ${written} keys into ${url}${prefix ? ` below ${prefix}` : ''}; failed ${failed.length}`,
      ...failed.sort(),
    ];
    await write(context.io.stdout, `${lines.join('\n')}\n`);
    return failed.length > 0 ? ExitCode.FAILURE : ExitCode.OK;
  },
};
