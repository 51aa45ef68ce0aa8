// The worker thread of loadConfigSync (config-sync.ts): opens the store by URL with the normal
// async code, lists the prefix once and hands the entries back (see blocking-worker.ts).
import { binaryCodec } from '../codec.js';
import { openStore, type OpenStoreOptions } from '../open.js';
import { serveBlockingCalls } from './blocking-worker.js';
import { transferError } from './error-transfer.js';

/** One read, as loadConfigSync sends it. */
export interface ConfigReadCall {
  url: string;
  /** The normalized prefix to list (recursively). */
  base: string;
  /** The backend option bags of `openStore` (structured-cloneable: no functions, no dispatcher). */
  backends: Pick<OpenStoreOptions, 'etcd' | 'consul' | 'etcd3'>;
}

/**
 * The listing, compact: every value's bytes one after the other in `bytes` (its own buffer, so
 * the clone copies only the values, never a larger buffer a value was a view of).
 */
export interface ConfigReadResult {
  /** Keys in list order; `size` is the value's length in `bytes`, `-1` for a directory. */
  entries: { key: string; size: number }[];
  bytes: Uint8Array;
}

async function read({ url, base, backends }: ConfigReadCall): Promise<ConfigReadResult> {
  const store = await openStore(url, { ...backends, codec: binaryCodec });
  try {
    const listed = await store.list(base, { recursive: true, consistent: true });
    let total = 0;
    for (const entry of listed) if (!entry.dir) total += entry.value.byteLength;
    const bytes = new Uint8Array(total);
    const entries: ConfigReadResult['entries'] = [];
    let offset = 0;
    for (const entry of listed) {
      if (entry.dir) {
        entries.push({ key: entry.key, size: -1 });
        continue;
      }
      bytes.set(entry.value, offset);
      offset += entry.value.byteLength;
      entries.push({ key: entry.key, size: entry.value.byteLength });
    }
    return { entries, bytes };
  } finally {
    // The caller terminates this thread once it has the answer; closing is only a courtesy.
    store.close().catch(() => undefined);
  }
}

serveBlockingCalls((call) => read(call as ConfigReadCall), transferError);
