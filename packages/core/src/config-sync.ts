import { decodeValue, utf8Codec, type Codec } from './codec.js';
import { buildTree, type ConfigTree } from './config.js';
import { InvalidArgumentError, NotSupportedError, TimeoutError } from './errors.js';
import { normalizeKey } from './keys.js';
import { memoryStoreFromUrl, type OpenStoreOptions } from './open.js';
import { BlockingWorker } from './sync/blocking-worker.js';
import type { ConfigReadCall, ConfigReadResult } from './sync/config-worker.js';
import { reviveError, type TransferredError } from './sync/error-transfer.js';
import type { ListEntry } from './types.js';
import { parseStoreUrl } from './url.js';
import { checkOptionTable, type OptionTableOf } from './validate.js';

/** Options of {@link loadConfigSync}. */
export interface LoadConfigSyncOptions<V = string> {
  /**
   * How values are read, as a store opened with this codec reads them: the default `utf8Codec`
   * gives strings and refuses a value that is not UTF-8 (`UNREPRESENTABLE`, naming the key);
   * `binaryCodec` gives each value's bytes as a `Uint8Array`; `jsonCodec` parses JSON.
   * @defaultValue utf8Codec
   */
  codec?: Codec<V>;
  /** As {@link loadConfig}'s `json`: parse each string value as JSON where it is JSON. @defaultValue false */
  json?: boolean;
  /**
   * Milliseconds for the whole call (starting the worker, connecting, reading); past it the call
   * throws a `TIMEOUT` error. 0 means the default; `Infinity` waits as long as the store's own
   * timeouts let it. @defaultValue 10000
   */
  timeout?: number;
  /** `openStore`'s option bags for the backends; they cross to a worker thread, so plain data only. */
  etcd?: Record<string, unknown>;
  /** `openStore`'s `consul` options; plain data only, as for `etcd`. */
  consul?: Record<string, unknown>;
  /** `openStore`'s `etcd3` options; plain data only, as for `etcd`. */
  etcd3?: Record<string, unknown>;
}

const OPTIONS = {
  codec: 'object',
  json: 'boolean',
  timeout: 'number',
  etcd: 'object',
  consul: 'object',
  etcd3: 'object',
} satisfies OptionTableOf<LoadConfigSyncOptions>;

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * {@link loadConfig} for start-up code that cannot wait for a promise: opens the store at `url`,
 * reads every key below `prefix` and returns the same nested object `loadConfig` resolves with,
 * blocking the thread until then. No native addon: for etcd, etcd3 and Consul URLs a worker thread
 * opens the store with the normal async code (`openStore`) and hands the listing back while this
 * thread waits in `Atomics.wait`; the worker is terminated after the call. A `memory://name` URL
 * reads this process's named data set directly (a worker has a registry of its own, so it would
 * see nothing); `memory://` without a name is refused, as it is always a new empty data set.
 *
 * There is no `signal`: a blocked thread cannot see an abort. Use it before serving anything.
 * @throws PolykvError with the code the async path throws (`UNAVAILABLE` when no server answers,
 * `INVALID_ARGUMENT` for a bad URL or option, `UNREPRESENTABLE` for bytes the codec cannot read),
 * or `TIMEOUT` when `timeout` ran out.
 */
export function loadConfigSync<V = string>(
  url: string,
  prefix: string,
  options: LoadConfigSyncOptions<V> = {},
): ConfigTree {
  checkOptionTable(options, OPTIONS, 'loadConfigSync');
  if (options.timeout !== undefined && !(options.timeout >= 0))
    throw new InvalidArgumentError('timeout', 'timeout must be a number of milliseconds >= 0');
  const timeout = options.timeout || DEFAULT_TIMEOUT_MS;
  const base = normalizeKey(prefix, { root: true, argument: 'prefix' });
  const codec = options.codec ?? (utf8Codec as unknown as Codec<V>);
  const json = options.json ?? false;
  const parsed = parseStoreUrl(url);
  if (parsed.scheme === 'memory') {
    if (!parsed.hosts[0]?.host) {
      throw new InvalidArgumentError(
        'url',
        `store URL ${parsed.redacted}: memory:// without a name is a new, empty data set; ` +
          'name the data set of this process to read (memory://name/prefix)',
      );
    }
    const store = memoryStoreFromUrl<V>(parsed, { codec });
    const listed = store.listSync(base, { recursive: true });
    store.close().catch(() => undefined);
    return buildTree(listed, base, json);
  }
  const backends: ConfigReadCall['backends'] = {};
  for (const name of ['etcd', 'consul', 'etcd3'] as const) {
    const bag = (options as OpenStoreOptions)[name];
    if (bag !== undefined) backends[name] = bag;
  }
  const result = readInWorker({ url, base, backends }, timeout, parsed.redacted);
  return buildTree(decodeEntries(result, codec), base, json);
}

function readInWorker(call: ConfigReadCall, timeoutMs: number, shownUrl: string): ConfigReadResult {
  let worker: BlockingWorker;
  try {
    worker = new BlockingWorker(new URL('./sync/config-worker.js', import.meta.url), undefined);
  } catch (cause) {
    throw new NotSupportedError('loadConfigSync could not start its worker thread', { cause });
  }
  try {
    let outcome;
    try {
      outcome = worker.call(call, timeoutMs);
    } catch (cause) {
      // postMessage refuses what it cannot clone (a function or dispatcher in a backend option).
      throw new InvalidArgumentError(
        'options',
        'loadConfigSync: backend options must be plain data (they cross to a worker thread)',
        { cause },
      );
    }
    if ('timedOut' in outcome) {
      throw new TimeoutError(`loadConfigSync of ${shownUrl} timed out after ${timeoutMs} ms`, { timeoutMs });
    }
    if (!outcome.ok) throw reviveError(outcome.error as TransferredError);
    return outcome.value as ConfigReadResult;
  } finally {
    worker.terminate().catch(() => undefined);
  }
}

/** The worker's compact listing as entries of the caller's codec. */
function decodeEntries<V>({ entries, bytes }: ConfigReadResult, codec: Codec<V>): ListEntry<V>[] {
  const out: ListEntry<V>[] = [];
  let offset = 0;
  for (const { key, size } of entries) {
    if (size < 0) {
      out.push({ key, dir: true, index: 0, createIndex: 0 });
      continue;
    }
    // A copy per value: a caller may keep or change one value's bytes without touching the others.
    const raw = bytes.slice(offset, offset + size);
    offset += size;
    out.push({ key, value: decodeValue(codec, raw, key), index: 0, createIndex: 0 });
  }
  return out;
}
