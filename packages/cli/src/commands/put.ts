import { readFile } from 'node:fs/promises';
import type { SetOptions } from '@polykv/core';
import { entryJson, toJson } from '../bytes.js';
import { CliError, ExitCode, UsageError } from '../errors.js';
import {
  flag,
  intOption,
  readAll,
  stringOption,
  urlOption,
  write,
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
function decodeBase64(text: string, where: string): Buffer {
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

export const put: Command = {
  name: 'put',
  aliases: ['set'],
  summary: 'write a value: text, @file or - (stdin), byte for byte',
  usage: 'put <key> <value|@file|-> [--ttl s] [--flags n] [--base64] [--url U] [--json]',
  description:
    'Writes <value> at <key>, creating parent directories. `@file` writes the bytes of file and `-`\n' +
    'the bytes of stdin, exactly (a trailing newline included), as `consul kv put` does; a text value\n' +
    'is written as its UTF-8. A literal value starting with @ goes through stdin. With --base64 the\n' +
    'value (or file, or stdin) is base64 and its decoded bytes are written. With --ttl the key\n' +
    'expires after that many seconds. --flags sets Consul Flags (a backend without flags refuses:\n' +
    'NOT_SUPPORTED); a write without --flags leaves flags 0, like `consul kv put`.\n' +
    'A value that starts with - goes after --: polykv put offset -- -5',
  options: {
    url: urlOption,
    ttl: { type: 'string', value: 's', help: 'seconds until the key expires (whole number >= 1)' },
    flags: { type: 'string', value: 'n', help: 'Consul Flags, 0..2^64-1 (Consul and memory:// only)' },
    base64: { type: 'boolean', help: 'the value is base64: write the bytes it decodes to' },
    json: { type: 'boolean', help: 'print the written entry as JSON' },
  },
  args: { min: 2, max: 2, names: '<key> <value|@file|->' },
  examples: [
    'polykv put app/features/dark-mode true --url consul://127.0.0.1:8500',
    'printf secret | polykv put app/database/password - --ttl 3600',
    'polykv put app/logo.png @logo.png --flags 42 --url consul://127.0.0.1:8500',
  ],
  async run(context) {
    const key = context.positionals[0]!;
    const ttl = intOption(context, 'ttl', 1);
    const flags = flagsOption(context);
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
    const entry = await store.set(key, value, options);
    if (flag(context, 'json')) await write(context.io.stdout, `${toJson(entryJson(entry))}\n`);
    return ExitCode.OK;
  },
};
