import { readFile } from 'node:fs/promises';
import type { Entry, SetOptions, SwapCondition } from '@polykv/core';
import { CliError, ExitCode, UsageError } from '../errors.js';
import { outputOf, outputOption, render } from '../output.js';
import {
  flag,
  intOption,
  readAll,
  stringOption,
  urlOption,
  write,
  writeBytes,
  type Command,
  type Context,
} from '../command.js';

const MAX_FLAGS = 0xffff_ffff_ffff_ffffn;

/** `--flags N`: a whole number 0..2^64-1 (Consul's Flags are a uint64). */
function flagsOption(context: Context): bigint | undefined {
  const text = stringOption(context, 'flags');
  if (text === undefined) return undefined;
  const flags = /^\d+$/.test(text.trim()) ? BigInt(text.trim()) : undefined;
  if (flags === undefined || flags > MAX_FLAGS)
    throw new UsageError(
      `--flags must be a whole number 0..${MAX_FLAGS}, got ${JSON.stringify(text)}`,
      context.name,
    );
  return flags;
}

/** Strict base64 (whitespace allowed between groups): Buffer.from would skip bad characters silently. */
export function decodeBase64(text: string, where: string): Buffer {
  const compact = text.replace(/\s+/g, '');
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(compact) || compact.length % 4 !== 0)
    throw new CliError('BAD_INPUT', `--base64: ${where} is not base64`);
  return Buffer.from(compact, 'base64');
}

/** The bytes to write: the argument's UTF-8, a file's bytes (`@file`), or stdin's (`-`). */
async function valueBytes(context: Context, given: string): Promise<Buffer> {
  let bytes: Buffer;
  let where = 'the value';
  if (given === '-') {
    bytes = await readAll(context.io.stdin, context.signal);
    where = 'stdin';
  } else if (given.startsWith('@')) {
    where = given.slice(1);
    bytes = await readFile(where, { signal: context.signal });
  } else bytes = Buffer.from(given, 'utf8');
  return flag(context, 'base64') ? decodeBase64(bytes.toString('latin1'), where) : bytes;
}

/** The one write condition the command line gives, if any. */
function conditionOf(context: Context): SwapCondition<Uint8Array> | 'push' | undefined {
  const given: string[] = [];
  const prevIndex = intOption(context, 'prev-index', 0);
  const prevValue = stringOption(context, 'prev-value');
  if (flag(context, 'create-only')) given.push('--create-only');
  if (prevIndex !== undefined) given.push('--prev-index');
  if (prevValue !== undefined) given.push('--prev-value');
  if (flag(context, 'push')) given.push('--push');
  if (given.length > 1) throw new UsageError(`give one of ${given.join(', ')}`, context.name);
  if (flag(context, 'push')) return 'push';
  // Consul's `kv put -cas -modify-index=0` means "only if the key does not exist": so does 0 here.
  if (flag(context, 'create-only') || prevIndex === 0) return { prevExist: false };
  if (prevIndex !== undefined) return { prevIndex };
  if (prevValue !== undefined) return { prevValue: prevValueBytes(context, prevValue) };
  return undefined;
}

/** `--prev-value`: its UTF-8, or with --base64 the bytes it decodes to. */
export function prevValueBytes(context: Context, given: string): Buffer {
  return flag(context, 'base64') ? decodeBase64(given, '--prev-value') : Buffer.from(given, 'utf8');
}

export const put: Command = {
  name: 'put',
  aliases: ['set'],
  summary: 'write a value: text, @file or - (stdin), byte for byte; conditional with --create-only, --prev-*',
  usage:
    'put <key> <value|@file|-> [--ttl s] [--flags n] [--base64] [--create-only | --prev-value v |\n' +
    '           --prev-index n | --push] [-o text|json|table|extended] [--url U]',
  description:
    'Writes <value> at <key>, creating parent directories. `@file` writes the bytes of file and `-`\n' +
    'the bytes of stdin, exactly (a trailing newline included), as `consul kv put` does; a text value\n' +
    'is written as its UTF-8. A literal value starting with @ goes through stdin. With --base64 the\n' +
    'value (or file, or stdin, and --prev-value) is base64 and its decoded bytes are written. With\n' +
    '--ttl the key expires after that many seconds. --flags sets Consul Flags (a backend without flags\n' +
    'refuses: NOT_SUPPORTED); a write without --flags leaves flags 0, like `consul kv put`.\n' +
    'Conditions (one at most; nothing is written when it does not hold, and polykv exits with 1):\n' +
    '  --create-only   only if nothing is at <key> (etcdctl mk): else ALREADY_EXISTS\n' +
    '  --prev-value v  only if the value is v (etcdctl set --swap-with-value): else COMPARE_FAILED\n' +
    "  --prev-index n  only if the key's index is n (consul kv put -cas -modify-index=n, etcdctl set\n" +
    '                  --swap-with-index); 0 means --create-only, as in Consul\n' +
    'With --prev-value or --prev-index a missing key exits with 3.\n' +
    '--push writes <value> under the directory <key> at a new key that sorts after every earlier push\n' +
    '(etcdctl mk --in-order) and prints that key.\n' +
    'A value that starts with - goes after --: polykv put offset -- -5',
  options: {
    url: urlOption,
    ttl: { type: 'string', value: 's', help: 'seconds until the key expires (whole number >= 1)' },
    flags: { type: 'string', value: 'n', help: 'Consul Flags, 0..2^64-1 (Consul and memory:// only)' },
    base64: {
      type: 'boolean',
      help: 'the value (and --prev-value) is base64: write the bytes it decodes to',
    },
    'create-only': { type: 'boolean', help: 'write only if nothing is at <key>' },
    'prev-value': { type: 'string', value: 'v', help: 'write only if the current value is v' },
    'prev-index': {
      type: 'string',
      value: 'n',
      help: "write only if the key's index is n (0: --create-only)",
    },
    push: { type: 'boolean', help: 'write at a new in-order key under the directory <key>; print it' },
    output: outputOption,
    json: { type: 'boolean', help: 'print the written entry as JSON (= -o json)' },
  },
  args: { min: 2, max: 2, names: '<key> <value|@file|->' },
  exitCodes: [
    '1  a condition did not hold (ALREADY_EXISTS, COMPARE_FAILED): nothing was written',
    '3  --prev-value / --prev-index: nothing at <key>',
  ],
  examples: [
    'polykv put app/features/dark-mode true --url consul://127.0.0.1:8500',
    'printf secret | polykv put app/database/password - --ttl 3600',
    'polykv put app/logo.png @logo.png --flags 42 --url consul://127.0.0.1:8500',
    'polykv put app/leader me --create-only',
    'polykv put app/config @new.json --prev-index 42',
    'polykv put jobs/queue "job 1" --push',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const ttl = intOption(context, 'ttl', 1);
    const flags = flagsOption(context);
    const condition = conditionOf(context);
    const output = outputOf(context);
    const value = await valueBytes(context, context.positionals[1]!);
    const store = await context.openDefault();
    // Checked here too, so that a store without flags can never drop them silently.
    if (flags !== undefined && flags !== 0n && !store.capabilities.flags)
      throw new CliError('NOT_SUPPORTED', `--flags: ${store.kind} keeps no flags (Consul and memory:// do)`);
    const options: SetOptions = {
      signal: context.signal,
      ...(ttl !== undefined ? { ttl } : {}),
      ...(flags !== undefined && flags !== 0n ? { flags } : {}),
    };
    let entry: Entry<Uint8Array>;
    if (condition === 'push') entry = await store.push(key, value, options);
    else if (condition !== undefined) entry = await store.compareAndSwap(key, value, condition, options);
    else entry = await store.set(key, value, options);
    if (output !== 'text')
      await writeBytes(
        context.io.stdout,
        render([entry], output, { single: true, flags: store.capabilities.flags }),
      );
    else if (condition === 'push') await write(context.io.stdout, `${entry.key}\n`);
    return ExitCode.OK;
  },
};
