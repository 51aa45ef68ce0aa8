import type { ListEntry } from '@polykv/core';
import { entryJson, flagsOf, textOf, toJson } from './bytes.js';
import { UsageError } from './errors.js';
import { flag, stringOption, type Context, type OptionSpec } from './command.js';

// `-o text|json|table|extended`, for the commands that print entries (get, ls, put, watch). `text`
// is each command's own plain form; `json` the entry objects (`--json` is its short name); `table`
// aligned columns for people; `extended` etcdctl's `-o extended` block per entry (`get --detailed`).

export const OUTPUTS = ['text', 'json', 'table', 'extended'] as const;
export type Output = (typeof OUTPUTS)[number];

export const outputOption: OptionSpec = {
  type: 'string',
  short: 'o',
  value: 'f',
  choices: OUTPUTS,
  help: 'output: text (default), json, table or extended (index, create index, TTL, flags)',
};

export const jsonOption: OptionSpec = { type: 'boolean', help: 'the same as -o json' };

/** The output the command line asks for: `-o`, `--json`, or (`get`) `--detailed`; one of them. */
export function outputOf(context: Context, allowed: readonly Output[] = OUTPUTS): Output {
  const asked: Output[] = [];
  const given = stringOption(context, 'output');
  if (given !== undefined) asked.push(given as Output);
  if (flag(context, 'json')) asked.push('json');
  if (flag(context, 'detailed')) asked.push('extended');
  if (new Set(asked).size > 1) throw new UsageError('give one of -o, --json and --detailed', context.name);
  const output = asked[0] ?? 'text';
  if (!allowed.includes(output))
    throw new UsageError(`${context.name} prints ${allowed.join(' or ')}, not ${output}`, context.name);
  return output;
}

/** Seconds until `expiresAt`, rounded up (0: no TTL, as etcdctl shows it). */
export function ttlLeft(expiresAt: Date | undefined, now = Date.now()): number {
  return expiresAt ? Math.max(0, Math.ceil((expiresAt.getTime() - now) / 1000)) : 0;
}

/** A value on one line: text with line breaks and tabs escaped, other bytes as `base64:...`. */
export function oneLine(bytes: Uint8Array): string {
  const text = textOf(bytes);
  if (text === undefined) return `base64:${Buffer.from(bytes).toString('base64')}`;
  return text.replace(/\\/g, '\\\\').replace(/\r?\n/g, '\\n').replace(/\t/g, '\\t');
}

function pad(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => row[column]!.length)));
  return rows
    .map((row) =>
      row
        .map((cell, column) => cell.padEnd(widths[column]!))
        .join('  ')
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join('');
}

/** What to show: only keys, and whether the store has flags at all (etcd has none). */
export interface Shown {
  keysOnly?: boolean;
  flags?: boolean;
}

/** Aligned columns with a header: KEY VALUE INDEX CREATE-INDEX [FLAGS] TTL (`keysOnly`: KEY). */
export function table(entries: readonly ListEntry<Uint8Array>[], shown: Shown = {}): string {
  if (shown.keysOnly)
    return pad([['KEY'], ...entries.map((entry) => [`${entry.key}${entry.dir ? '/' : ''}`])]);
  const withFlags = shown.flags ?? true;
  const rows = entries.map((entry) => [
    `${entry.key}${entry.dir ? '/' : ''}`,
    entry.dir ? '(directory)' : oneLine(entry.value),
    String(entry.index),
    String(entry.createIndex),
    ...(withFlags ? [entry.dir ? '-' : String(flagsOf(entry) ?? 0n)] : []),
    entry.expiresAt ? String(ttlLeft(entry.expiresAt)) : '-',
  ]);
  const header = ['KEY', 'VALUE', 'INDEX', 'CREATE-INDEX', ...(withFlags ? ['FLAGS'] : []), 'TTL'];
  return pad([header, ...rows]);
}

/**
 * etcdctl's `-o extended` layout: `Name: value` lines, a blank line, then the value's bytes as
 * stored (and a newline). polykv adds Flags (stores that have them) and, with a TTL, Expires.
 */
export function extended(entry: ListEntry<Uint8Array>, withFlags = true): Buffer {
  const lines = [`Key: ${entry.key}`];
  if (entry.dir) lines.push('Dir: true');
  lines.push(
    `Created-Index: ${entry.createIndex}`,
    `Modified-Index: ${entry.index}`,
    `TTL: ${ttlLeft(entry.expiresAt)}`,
  );
  if (entry.expiresAt) lines.push(`Expires: ${entry.expiresAt.toISOString()}`);
  if (entry.dir) return Buffer.from(`${lines.join('\n')}\n`);
  if (withFlags) lines.push(`Flags: ${flagsOf(entry) ?? 0n}`);
  return Buffer.concat([Buffer.from(`${lines.join('\n')}\n\n`), entry.value, Buffer.from('\n')]);
}

/** Entries in the json, table or extended output (`text` is the command's own). */
export function render(
  entries: readonly ListEntry<Uint8Array>[],
  output: Exclude<Output, 'text'>,
  options: Shown & { single?: boolean } = {},
): Buffer {
  const keysOnly = options.keysOnly ?? false;
  switch (output) {
    case 'json': {
      const objects = entries.map((entry) =>
        keysOnly ? entry.key + (entry.dir ? '/' : '') : entryJson(entry),
      );
      return Buffer.from(`${toJson(options.single ? objects[0] : objects)}\n`);
    }
    case 'table':
      return Buffer.from(table(entries, options));
    case 'extended':
      // One block per entry, a blank line between blocks.
      return Buffer.concat(
        entries.flatMap((entry, at) => [
          ...(at > 0 ? [Buffer.from('\n')] : []),
          keysOnly
            ? Buffer.from(`Key: ${entry.key}${entry.dir ? '/' : ''}\n`)
            : extended(entry, options.flags ?? true),
        ]),
      );
  }
}
