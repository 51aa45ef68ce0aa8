import assert from 'node:assert/strict';
import { binaryCodec, openStore, type Entry, type Store } from '@polykv/core';
import { runPolykv, type ToolResult } from '../helpers/tools.js';
import { eventually as waitUntil } from '../helpers/eventually.js';

// Shared checks of the interop tests: "byte equality or a named refusal, never a silent change".

/** A Store on `url` as the CLI opens it: values are the stored bytes. */
export function openBytes(url: string): Promise<Store<Uint8Array>> {
  return openStore(url, { codec: binaryCodec });
}

/** Consul's Flags of an entry as the library reports them (absent when 0); 0n when absent. */
export function flagsOf(entry: { flags?: bigint } | null | undefined): bigint {
  return entry?.flags ?? 0n;
}

/** `polykv ...args`, expecting the exit code `code`; the result for further checks. */
export async function polykv(
  args: readonly string[],
  code: number,
  options: { input?: Uint8Array | string; env?: Record<string, string> } = {},
): Promise<ToolResult> {
  const result = await runPolykv(args, options);
  assert.equal(
    result.code,
    code,
    `polykv ${args.join(' ')} exited with ${result.code}:\n${result.stdout.toString()}\n${result.stderr}`,
  );
  return result;
}

/** `copy --json`'s summary, as the CLI prints it. */
export interface CopyJson {
  dryRun: boolean;
  copied: string[];
  dirs: string[];
  skipped: { key: string; reason: string }[];
  failed: { key: string; error: string }[];
  adjusted: { key: string; note: string }[];
}

/**
 * Every source key is accounted for: carried with the same bytes (checked with `read`), or named in
 * `failed` with a reason. Returns the keys that were named, for the caller's own expectations.
 */
export async function assertCarriedOrNamed(
  summary: CopyJson,
  source: ReadonlyMap<string, Uint8Array>,
  read: (key: string) => Promise<Uint8Array | null>,
): Promise<Map<string, string>> {
  const named = new Map(summary.failed.map(({ key, error }) => [key, error]));
  for (const [key, reason] of named) assert.match(reason, /\S/, `${key} is named with a reason`);
  for (const [key, value] of source) {
    if (named.has(key)) continue;
    assert.ok(summary.copied.includes(key), `${key} is neither copied nor named: ${JSON.stringify(summary)}`);
    assert.deepEqual(Buffer.from((await read(key)) ?? 'MISSING'), Buffer.from(value), `${key} carried as is`);
  }
  return named;
}

/** Entries of a recursive listing, by key (values only). */
export async function valuesOf(store: Store<Uint8Array>, dir = ''): Promise<Map<string, Entry<Uint8Array>>> {
  const listed = await store.list(dir, { recursive: true, consistent: true });
  return new Map(
    listed.filter((entry): entry is Entry<Uint8Array> => !entry.dir).map((entry) => [entry.key, entry]),
  );
}

export const eventually = (check: () => Promise<boolean> | boolean, what: string): Promise<void> =>
  waitUntil(check, what, { ms: 60_000, every: 100 });
