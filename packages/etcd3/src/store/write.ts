import { CompareFailedError } from '@polykv/core';
import type { Etcd3Client } from '../client.js';
import { rangeOf, type Call, type WriteCheck } from './common.js';
import { shapeCompares, shapeFailure, shapeProbes, type Shaped } from './shape.js';

/**
 * One write as one transaction: the caller's compares and the typed-directory compares, then
 * `[...extra, put, read back]`; on failure, the caller's probes and the shape probes are read in
 * the same transaction, and `explain` (else the shape) says why. A TTL is a fresh lease, granted
 * first and revoked again when the write fails. Resolves the key's new revisions.
 */
export async function writeKey(
  client: Etcd3Client,
  shape: Shaped,
  raw: string | Uint8Array,
  ttl: number | undefined,
  check: WriteCheck,
  call: Call,
  userKey: string,
): Promise<{ index: number; createIndex: number; expiresAt: Date | undefined }> {
  const extra = check.extra ?? [];
  const lease = ttl === undefined ? undefined : await client.lease.grant(ttl, call);
  try {
    const response = await client.kv.txn(
      {
        compare: [...check.compare, ...(check.existing ? [] : shapeCompares(shape))],
        success: [
          ...extra,
          { put: { key: shape.path, value: raw, ...(lease ? { lease: lease.id } : {}) } },
          { range: { key: shape.path, keysOnly: true } },
        ],
        failure: [...check.probes, ...(check.existing ? [] : shapeProbes(shape))],
      },
      call,
    );
    if (response.succeeded) {
      const kv = rangeOf(response.responses[extra.length + 1])[0]!;
      return {
        index: kv.modRevision,
        createIndex: kv.createRevision,
        expiresAt: lease ? new Date(Date.now() + lease.ttl * 1000) : undefined,
      };
    }
    throw (
      check.explain?.(response.responses) ??
      shapeFailure(shape, response.responses, check.probes.length, userKey) ??
      new CompareFailedError(userKey)
    );
  } catch (error) {
    if (lease) await client.lease.revoke(lease.id).catch(() => undefined);
    throw error;
  }
}
