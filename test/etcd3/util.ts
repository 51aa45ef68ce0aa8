import { isEtcd3Error, type Etcd3ErrorCode } from '@polykv/etcd3';
import { eventually as waitUntil } from '../helpers/eventually.js';

/** An `assert.rejects` predicate: an Etcd3Error with `code`. */
export function etcd3Code(code: Etcd3ErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    if (!isEtcd3Error(error)) throw new Error(`expected an Etcd3Error ${code}, got ${String(error)}`);
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  };
}

export const eventually = (
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> => waitUntil(check, what, { ms });

export const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();
