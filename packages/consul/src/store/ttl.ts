import { createHash } from 'node:crypto';
import type { KvPair } from '../api/kv.js';
import type { SessionEntry } from '../api/session.js';
import type { ConsulClient } from '../client.js';
import type { QueryOptions } from '../options.js';
import { createSession } from '../session-create.js';

/**
 * The Consul Store's TTL keys: a TTL is a session with `Behavior: delete` that holds the key. The
 * store must tell its own sessions from everyone else's, because a session is shared state: a Go
 * service's `api.Lock`, `consul lock`, or any client's session may hold the same key, and
 * destroying such a session (Behavior delete) deletes every key it holds (issue 12.1). So polykv's
 * own TTL session is recognised by more than a name anyone could choose:
 *
 * - its Name is `polykv-ttl <h>`, `<h>` the first 16 hex digits of sha256 of the one key path it
 *   holds (so a session made for one key is never "ours" on another);
 * - its Behavior is `delete`, its LockDelay 0 and it has a TTL (how the store creates them);
 * - the key's `Flags` carry the store's expiry stamp (the "PK" tag), where the caller knows the
 *   key's flags from before its own write (a plain write replaces them in the same step that
 *   reports the session, so there the first two rules decide).
 *
 * Every other session is foreign: polykv never unlocks, releases, renews or destroys it.
 */

/** The 16-bit tag ("PK") over the expiry time in ms that the store writes into a TTL key's `Flags`. */
const EXPIRY_TAG = 0x504bn;
const EXPIRY_MASK = (1n << 48n) - 1n;

/** The `Flags` of a TTL key: the tag and the expiry time, so reads can report `expiresAt`. */
export function expiryFlags(ttlSeconds: number): bigint {
  return (EXPIRY_TAG << 48n) | BigInt(Date.now() + ttlSeconds * 1000);
}

/** True when `flags` is an expiry stamp (the "PK" tag in the top 16 bits). */
export function isExpiryStamp(flags: bigint | undefined): boolean {
  return flags !== undefined && flags >> 48n === EXPIRY_TAG;
}

/**
 * When a TTL key expires, from its stamp: only for keys a session still holds (a stamp on a key no
 * session holds is somebody's flags, not a TTL).
 */
export function expiryOf(pair: KvPair): Date | undefined {
  if (!pair.Session || !isExpiryStamp(pair.Flags)) return undefined;
  return new Date(Number(pair.Flags & EXPIRY_MASK));
}

/** The flags users see: none for 0, none for the store's own stamp on a held key. */
export function userFlags(pair: KvPair): bigint | undefined {
  const flags = pair.Flags;
  if (flags === undefined || flags === 0n) return undefined;
  if (pair.Session && isExpiryStamp(flags)) return undefined;
  return flags;
}

/** The name of the TTL session for the key at `path`: bound to that one key. */
export function ttlSessionName(path: string): string {
  return `polykv-ttl ${createHash('sha256').update(path).digest('hex').slice(0, 16)}`;
}

/** Creates the TTL session that will hold the key at `path`. */
export function createTtlSession(
  client: ConsulClient,
  path: string,
  ttlSeconds: number,
  call: QueryOptions,
): Promise<string> {
  return createSession(
    client.session,
    { Name: ttlSessionName(path), TTL: `${ttlSeconds}s`, Behavior: 'delete', LockDelay: '0s' },
    call,
  );
}

/** Who holds a key. */
export type Holder =
  /** Nobody, or a session that ended in between (its keys are released or deleted with it). */
  | { kind: 'free' }
  /** The store's own TTL session for this key. */
  | { kind: 'own'; session: string }
  /** A session polykv did not create: never touched. */
  | { kind: 'foreign'; session: string; info: SessionEntry };

const FREE: Holder = Object.freeze({ kind: 'free' });

/**
 * Who holds the key of `pair`. `flagsBefore`: the key's flags before the caller's write, when the
 * caller read them (then the expiry stamp must be there too); `undefined` when it could not.
 */
export async function holderOf(
  client: ConsulClient,
  pair: KvPair,
  flagsBefore: bigint | undefined,
  call: QueryOptions,
  /** Sessions already looked up (a listing's keys often share one). */
  known?: Map<string, SessionEntry | null>,
): Promise<Holder> {
  const session = pair.Session;
  if (!session) return FREE;
  let info = known?.get(session);
  if (info === undefined) {
    ({ data: info } = await client.session.info(session, { ...call, consistent: true }));
    known?.set(session, info);
  }
  if (!info) return FREE;
  const own =
    info.Name === ttlSessionName(pair.Key) &&
    info.Behavior === 'delete' &&
    info.LockDelay === 0 &&
    info.TTL !== '' &&
    (flagsBefore === undefined || isExpiryStamp(flagsBefore));
  return own ? { kind: 'own', session } : { kind: 'foreign', session, info };
}

/** Destroys one of the store's own sessions; best effort (an unused TTL session expires on its own). */
export async function destroyQuietly(client: ConsulClient, session: string): Promise<void> {
  try {
    await client.session.destroy(session);
  } catch {
    // Best effort: an unused TTL session holds nothing and expires on its own.
  }
}
