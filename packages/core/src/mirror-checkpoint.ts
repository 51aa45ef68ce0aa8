import { createHash } from 'node:crypto';
import { decodeValue } from './codec.js';
import { InvalidArgumentError, LockLostError, isPolykvError } from './errors.js';
import { RESERVED_SEGMENT } from './keys.js';
import type { CallOptions } from './signal.js';
import type { Store } from './store.js';
import { parseStoreUrl } from './url.js';

/**
 * A mirror's checkpoint: the last source index up to which every change has been carried, which
 * source and which settings it belongs to, and the fencing token of the instance that wrote it.
 * It lives in the target's reserved `.polykv/` space (never in `list` or `watch`), so a restarted
 * mirror resumes from it and a standby that takes over (`ha`) starts where the last one stopped.
 */
export interface CheckpointRecord {
  /** The record's format; a record of another version is not resumed from. */
  version: 1;
  /** The source's identity (see {@link sourceIdentity}): a checkpoint of another source is never used. */
  source: string;
  /** The mirror's prefix, exclusions, delete and dropFlags: a checkpoint taken with others is not resumed from. */
  settings: string;
  /** Every source change with an index up to this one is on the target (or named as not carried). */
  index: number;
  /** The fencing token of the instance that wrote it (0 without `ha`). */
  token: number;
  /** Keys not carried (the mirror's `skipped`), so a resumed mirror still names them. */
  refused: {
    /** The key that was not carried. */
    key: string;
    /** The refusal's error code (`UNREPRESENTABLE`, `VALUE_TOO_LARGE`...). */
    code: string;
    /** The refusal's message. */
    message: string;
  }[];
  /** How many more refused keys there were than the record keeps. */
  refusedMore: number;
  /** When it was written (for people reading it). */
  writtenAt: string;
}

/** Refused keys kept in a record; the rest are counted. */
const MAX_REFUSED = 1000;

/** What {@link CheckpointKeeper.claim} found. */
export type Resume = { index: number; record: CheckpointRecord } | { reason: string };

function parse(text: string): CheckpointRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<CheckpointRecord>;
    if (
      record.version !== 1 ||
      typeof record.source !== 'string' ||
      typeof record.settings !== 'string' ||
      !Number.isSafeInteger(record.index) ||
      !Number.isSafeInteger(record.token) ||
      !Array.isArray(record.refused)
    )
      return undefined;
    return { refusedMore: 0, writtenAt: '', ...record } as CheckpointRecord;
  } catch {
    return undefined;
  }
}

/** A short stable name for a (source, prefix) pair: the checkpoint's key and the `ha` lock's name. */
export function mirrorId(source: string, prefix: string): string {
  return createHash('sha256').update(`${source}\n${prefix}`).digest('hex').slice(0, 16);
}

/**
 * Reads and writes one checkpoint record. Every write is a compare-and-swap on the record this
 * instance last saw, and the record carries the writer's fencing token: an instance that lost its
 * `ha` lock finds a higher token at its next write and stops (LOCK_LOST) instead of moving the
 * checkpoint of the instance that took over.
 */
export class CheckpointKeeper {
  readonly key: string;
  readonly #store: Store<unknown>;
  readonly #source: string;
  readonly #settings: string;
  #token = 0;
  /** The store index of the record as last read or written; 0: none. */
  #at = 0;
  #lastIndex: number | undefined;

  constructor(store: Store<unknown>, key: string, source: string, settings: string) {
    this.#store = store;
    this.key = key;
    this.#source = source;
    this.#settings = settings;
  }

  /** The source index last saved (or resumed from). */
  get index(): number | undefined {
    return this.#lastIndex;
  }

  async #read(call: CallOptions): Promise<CheckpointRecord | undefined> {
    const entry = await this.#store.get(this.key, { ...call, consistent: true });
    this.#at = entry?.index ?? 0;
    if (!entry) return undefined;
    const raw = this.#store.codec.encode(entry.value);
    return parse(typeof raw === 'string' ? raw : Buffer.from(raw).toString('utf8'));
  }

  #fenced(record: CheckpointRecord): LockLostError {
    return new LockLostError(this.key, {
      message: `mirror checkpoint ${this.key} was written by a newer instance (fencing token ${record.token} > ${this.#token}): this one stops`,
    });
  }

  /**
   * Takes the checkpoint for an instance holding fencing token `token` (none without `ha`): reads it,
   * refuses (LOCK_LOST) if a newer instance wrote it, and says where to resume from (or why not).
   * With `resume: false` the record is never resumed from (it is still fenced and then replaced).
   */
  async claim(token: number | undefined, resume: boolean, call: CallOptions): Promise<Resume> {
    const record = await this.#read(call);
    // Without `ha` there is no token: this instance writes with the record's own.
    this.#token = token ?? record?.token ?? 0;
    if (record && record.token > this.#token) throw this.#fenced(record);
    this.#lastIndex = undefined;
    if (!record) return { reason: this.#at === 0 ? 'no checkpoint yet' : 'the checkpoint is unreadable' };
    if (!resume) return { reason: 'asked not to resume' };
    if (record.source !== this.#source)
      return { reason: `the checkpoint belongs to another source (${record.source})` };
    if (record.settings !== this.#settings)
      return {
        reason: 'the checkpoint was taken with other settings (prefix, exclusions, --delete or --drop-flags)',
      };
    this.#lastIndex = record.index;
    return { index: record.index, record };
  }

  /** Writes the checkpoint: every change up to `index` is carried; `refused` are the keys not carried. */
  async save(
    index: number,
    refused: ReadonlyMap<string, { code: string; message: string }>,
    call: CallOptions,
  ) {
    const kept = [...refused]
      .slice(0, MAX_REFUSED)
      .map(([key, { code, message }]) => ({ key, code, message }));
    const record: CheckpointRecord = {
      version: 1,
      source: this.#source,
      settings: this.#settings,
      index,
      token: this.#token,
      refused: kept,
      refusedMore: Math.max(0, refused.size - kept.length),
      writtenAt: new Date().toISOString(),
    };
    const value = decodeValue(this.#store.codec, JSON.stringify(record), this.key);
    for (let attempt = 0; ; attempt++) {
      try {
        const condition = this.#at === 0 ? { prevExist: false as const } : { prevIndex: this.#at };
        const entry = await this.#store.compareAndSwap(this.key, value, condition, call);
        this.#at = entry.index;
        this.#lastIndex = index;
        return;
      } catch (error) {
        const raced =
          isPolykvError(error) &&
          (error.code === 'COMPARE_FAILED' || error.code === 'ALREADY_EXISTS' || error.code === 'NOT_FOUND');
        if (!raced || attempt > 0) throw error;
        // Someone else wrote it: a newer instance fences this one; anyone else is overwritten.
        const now = await this.#read(call);
        if (now && now.token > this.#token) throw this.#fenced(now);
      }
    }
  }
}

/**
 * The URL of the checkpoint store for a target URL: the same URL with `/.polykv/mirror` added to
 * its path, so the checkpoint sits in the target's reserved space, out of `list` and `watch`.
 * Open it with `openStore` and pass it as `mirror`'s `checkpoint.store`.
 */
export function checkpointUrl(targetUrl: string): string {
  parseStoreUrl(targetUrl);
  const match = /^([a-z][a-z0-9+.-]*:\/\/[^/?#]*)([^?#]*)(\?[^#]*)?$/i.exec(targetUrl.trim())!;
  const path = match[2]!.replace(/\/+$/, '');
  return `${match[1]}${path}/${RESERVED_SEGMENT}/mirror${match[3] ?? ''}`;
}

/**
 * A source's identity for its checkpoint: scheme, hosts (sorted), prefix and Consul datacenter of
 * a store URL, without credentials or tokens. Two URLs naming the same hosts in another order are
 * the same source.
 */
export function sourceIdentity(url: string): string {
  const parsed = parseStoreUrl(url);
  const hosts = parsed.hosts
    .map(({ host, port }) => (port === undefined ? host : `${host}:${port}`))
    .sort()
    .join(',');
  const dc = parsed.params.get('dc');
  return `${parsed.scheme}://${hosts}/${parsed.prefix}${dc ? `?dc=${dc}` : ''}`;
}

/** Checks `mirror`'s `checkpoint` option. */
export function checkCheckpoint(value: unknown): { store: Store<unknown>; source: string } | undefined {
  if (value === undefined) return undefined;
  const checkpoint = value as { store?: unknown; source?: unknown };
  if (typeof checkpoint !== 'object' || checkpoint === null || typeof checkpoint.store !== 'object')
    throw new InvalidArgumentError('checkpoint', 'checkpoint must be { store, source }');
  if (typeof checkpoint.source !== 'string' || checkpoint.source === '')
    throw new InvalidArgumentError(
      'checkpoint',
      'checkpoint.source must name the source (e.g. sourceIdentity(url))',
    );
  return checkpoint as { store: Store<unknown>; source: string };
}
