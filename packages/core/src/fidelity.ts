import { UnrepresentableError, isPolykvError } from './errors.js';
import type { CallOptions } from './signal.js';
import type { Store } from './store.js';
import type { Entry, UnlistedKey } from './types.js';

/**
 * The carry rules of `copy`, `diff` and `mirror` (issue 12): every source key is carried exactly,
 * carried with a named adjustment, or named as not carried. Nothing changes silently.
 *
 * - Keys the source holds but the key model cannot carry (`Store.unlisted`) are not carried.
 * - A value that also has children (Consul) cannot go to a target that keeps values and
 *   directories apart (`capabilities.typedDirectories`).
 * - Flags go only to targets with `capabilities.flags`; otherwise the key is not carried, unless
 *   the caller said `dropFlags` (then the drop is named).
 * - A TTL is the remaining time rounded up to whole seconds, raised to the target's minimum (the
 *   raise is named); a TTL the target cannot hold at all (above Consul's 24 h, a directory TTL
 *   into Consul) is not carried.
 * - A key held by a session on the source (Consul) is carried without the hold (named).
 */

/** An optional capability of a Store: the keys below `dir` that sessions it did not create hold. */
export interface HoldReporter {
  /** The keys below `dir` held by a lock or session that is not this store's own. */
  foreignHolds(dir: string, options?: CallOptions): Promise<ForeignHold[]>;
}

/** A key held by a session the store did not create (Consul). */
export interface ForeignHold {
  /** The held key, relative to the store's prefix. */
  key: string;
  /** The ID of the Consul session that holds it. */
  session: string;
  /** That session's name (`''` when it has none). */
  sessionName: string;
  /** The node that session belongs to. */
  node: string;
}

/** True when `store` offers {@link HoldReporter.foreignHolds}. */
export function reportsHolds(store: object): store is HoldReporter {
  return typeof (store as Partial<HoldReporter>).foreignHolds === 'function';
}

/** A store's name in notes: `Consul`, `etcd`, `memory://`. */
export function storeName(store: Store<unknown>): string {
  return store.kind === 'consul' ? 'Consul' : store.kind === 'memory' ? 'memory://' : store.kind;
}

/** What to do with a TTL: write it (with a note when raised), or skip an expired key. */
export type TtlPlan =
  | {
      /** Seconds to write (what is left, rounded up, at least the target's minimum); `undefined`: no TTL. */
      ttl: number | undefined;
      /** Says that the TTL was raised to the target's minimum; absent when it was not. */
      note?: string;
    }
  | 'expired';

/** The TTL to write for something that expires at `expiresAt`, on `to`'s terms. */
export function planTtl(expiresAt: Date | undefined, to: Store<unknown>, now = Date.now()): TtlPlan {
  if (!expiresAt) return { ttl: undefined };
  const remaining = Math.ceil((expiresAt.getTime() - now) / 1000);
  if (remaining <= 0) return 'expired';
  const min = to.capabilities.minTtl;
  if (remaining >= min) return { ttl: remaining };
  return { ttl: min, note: `ttl raised from ${remaining} s to ${min} s (${storeName(to)}'s minimum)` };
}

/** What to do with a key's flags: write them, drop them (named), or refuse the key. */
export type FlagsPlan =
  | {
      /** The flags to write; `undefined` when there are none to write (0, or dropped). */
      flags: bigint | undefined;
      /** Says that the flags were dropped (`dropFlags`); absent when they were not. */
      note?: string;
    }
  | {
      /** The key cannot be carried: it has flags and the target keeps none (`UNREPRESENTABLE`). */
      error: UnrepresentableError;
    };

/** How an entry's flags are carried to the target store: kept, dropped, or refused. */
export function planFlags(entry: Entry<unknown>, to: Store<unknown>, dropFlags: boolean): FlagsPlan {
  if (entry.flags === undefined || entry.flags === 0n) return { flags: undefined };
  if (to.capabilities.flags) return { flags: entry.flags };
  if (dropFlags)
    return { flags: undefined, note: `flags ${entry.flags} dropped (${storeName(to)} has no flags)` };
  return {
    error: new UnrepresentableError(
      `${entry.key} has flags ${entry.flags} and ${storeName(to)} keeps no flags; --drop-flags (dropFlags) carries the value without them`,
      { what: 'flags', key: entry.key },
    ),
  };
}

/** The refusal of a value that has children, for a target with typed directories. */
export function valueWithChildrenError(key: string, to: Store<unknown>): UnrepresentableError {
  return new UnrepresentableError(
    `${key} holds a value and has children; ${storeName(to)} keeps values and directories apart`,
    { what: 'value', key },
  );
}

/** A source key that `list` leaves out (see `Store.unlisted`), as a refusal. */
export function unlistedFailure({ path, reason }: UnlistedKey): { key: string; error: UnrepresentableError } {
  return { key: path, error: new UnrepresentableError(`${path}: ${reason}`, { what: 'key', key: path }) };
}

/** The note of a source key held by a foreign session: the hold is not copied. */
export function holdNote(hold: ForeignHold): string {
  const name = hold.sessionName === '' ? '' : `"${hold.sessionName}" `;
  return `held by session ${name}(${hold.session}) on the source: the hold is not copied`;
}

/**
 * A failed TTL write as the copy reports it: a TTL the target refuses outright (above its maximum,
 * a directory TTL on Consul) is `UNREPRESENTABLE` (what: 'ttl'), not a bad argument of the caller.
 */
export function ttlRefusal(error: unknown, key: string, to: Store<unknown>, dir: boolean): unknown {
  if (!isPolykvError(error)) return error;
  const ttlArgument =
    error.code === 'INVALID_ARGUMENT' && (error as { argument?: string }).argument === 'ttl';
  if (!ttlArgument && !(dir && error.code === 'NOT_SUPPORTED')) return error;
  return new UnrepresentableError(
    `${key}: ${dir ? 'a directory TTL' : 'the TTL'} cannot be kept on ${storeName(to)} (${error.message})`,
    { what: 'ttl', key, cause: error },
  );
}
