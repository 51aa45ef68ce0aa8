import { isEtcd3Error, type Etcd3ErrorCode } from '@polykv/etcd3';

/** An `assert.rejects` predicate: an Etcd3Error with `code`. */
export function etcd3Code(code: Etcd3ErrorCode): (error: unknown) => boolean {
  return (error: unknown) => {
    if (!isEtcd3Error(error)) throw new Error(`expected an Etcd3Error ${code}, got ${String(error)}`);
    if (error.code !== code) throw new Error(`expected ${code}, got ${error.code}: ${error.message}`);
    return true;
  };
}

/** Polls until `check` is true; fails with `what` after `ms` (a liveness bound, not a timing assertion). */
export async function eventually(
  check: () => boolean | Promise<boolean>,
  ms: number,
  what: string,
): Promise<void> {
  const started = Date.now();
  while (!(await check())) {
    if (Date.now() - started > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const text = (bytes: Uint8Array | undefined): string | undefined =>
  bytes === undefined ? undefined : Buffer.from(bytes).toString();
