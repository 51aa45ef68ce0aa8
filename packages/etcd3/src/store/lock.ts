import { LockLostError, type LockQueue, type QueueNode } from '@polykv/core';
import type { Etcd3Client } from '../client.js';
import { isEtcd3Error } from '../errors.js';
import { prefixEnd } from '../proto/wire.js';

/**
 * etcd's concurrency recipe for a mutex, as core's {@link LockQueue}: each contender puts a key
 * `<dir>/<lease ID in hex>` attached to its own lease; the contender whose key has the lowest
 * create revision holds the lock; the others watch the key just before theirs until it is deleted.
 * The key's create revision is the fencing token (it grows with every acquisition). Keeping the
 * lock alive is renewing the lease, and checking that the key is still the one we made (a deleted
 * key means the lock was taken from us).
 */
export class Etcd3LockQueue implements LockQueue {
  readonly #client: Etcd3Client;
  /** The lease of each of our queue nodes. */
  readonly #leases = new Map<string, string>();

  constructor(client: Etcd3Client) {
    this.#client = client;
  }

  async enqueue(dir: string, ttlSeconds: number, signal: AbortSignal | undefined): Promise<QueueNode> {
    const lease = await this.#client.lease.grant(ttlSeconds, { ...(signal ? { signal } : {}) });
    const path = `${dir}/${BigInt(lease.id).toString(16)}`;
    try {
      const { header } = await this.#client.kv.put(path, '', {
        lease: lease.id,
        ...(signal ? { signal } : {}),
      });
      this.#leases.set(path, lease.id);
      return { path, index: header.revision, createIndex: header.revision };
    } catch (error) {
      await this.#client.lease.revoke(lease.id).catch(() => undefined);
      throw error;
    }
  }

  async refresh(node: QueueNode, _ttlSeconds: number, signal: AbortSignal): Promise<number> {
    const lease = this.#leases.get(node.path);
    const current = await this.#client.kv.get(node.path, { signal, keysOnly: true });
    if (lease === undefined || current === null || current.createRevision !== node.createIndex)
      throw new LockLostError(node.path, { message: `lock node ${node.path} was deleted` });
    const { ttl } = await this.#client.lease.keepAliveOnce(lease, { signal });
    if (ttl <= 0)
      throw new LockLostError(node.path, { message: `the lease of lock node ${node.path} expired` });
    return current.modRevision;
  }

  async contenders(dir: string, signal: AbortSignal | undefined): Promise<QueueNode[]> {
    const { kvs } = await this.#client.kv.range(`${dir}/`, {
      end: prefixEnd(`${dir}/`),
      keysOnly: true,
      sortTarget: 'create',
      sortOrder: 'ascend',
      ...(signal ? { signal } : {}),
    });
    return kvs.map((kv) => ({
      path: kv.key.toString(),
      index: kv.modRevision,
      createIndex: kv.createRevision,
    }));
  }

  async waitGone(node: QueueNode, signal: AbortSignal): Promise<void> {
    let from = node.index + 1;
    for (;;) {
      signal.throwIfAborted();
      const watcher = this.#client.watch(node.path, { startRevision: from, filters: ['noPut'], signal });
      const outcome = await new Promise<'gone' | 'ended'>((resolve) => {
        watcher.once('events', () => resolve('gone'));
        watcher.once('end', () => resolve('ended'));
      });
      await watcher.cancel();
      if (outcome === 'gone') return;
      signal.throwIfAborted();
      // The watch broke (a member died, history compacted): look, then watch again from there.
      const current = await this.#client.kv.get(node.path, { signal, keysOnly: true });
      if (current === null || current.createRevision !== node.createIndex) return;
      from = Math.max(watcher.nextRevision, current.modRevision + 1);
    }
  }

  async remove(node: QueueNode, signal: AbortSignal | undefined): Promise<void> {
    const call = signal ? { signal } : {};
    // Only our node: a key of the same name made by someone else after ours vanished stays.
    await this.#client.kv.txn(
      {
        compare: [{ key: node.path, target: 'create', result: '=', value: node.createIndex }],
        success: [{ deleteRange: { key: node.path } }],
      },
      call,
    );
    const lease = this.#leases.get(node.path);
    this.#leases.delete(node.path);
    if (lease !== undefined)
      await this.#client.lease.revoke(lease, call).catch((error: unknown) => {
        if (!(isEtcd3Error(error) && error.code === 'ETCD3_LEASE_NOT_FOUND')) throw error;
      });
  }
}
