import { randomUUID } from 'node:crypto';
import {
  AbortError,
  LockLostError,
  StopSignal,
  runWatchLoop,
  type KeySpace,
  type Lock,
  type LockQueue,
  type QueueNode,
} from '@polykv/core';
import type { EtcdNode } from '../api/keys.js';
import type { EtcdClient } from '../client.js';
import { isEtcdError } from '../errors.js';
import { EtcdPollSource } from '../watch/source.js';
import { isDeletion, trimSlashes } from './common.js';

/** The etcd v2 lock recipe's five operations (see core's `acquireQueueLock`). */
export function etcdLockQueue(client: EtcdClient, space: KeySpace, userKey: string): LockQueue {
  const keys = client.keys;
  const toNode = (node: EtcdNode): QueueNode => ({
    path: trimSlashes(node.key),
    index: node.modifiedIndex,
    createIndex: node.createdIndex,
  });
  const timing = client.options;
  // Our node's value: a refresh that fails its prevIndex check is adopted only when the node
  // still holds this token (our own refresh whose answer was lost), never after a foreign write.
  const token = `polykv-lock:${randomUUID()}`;
  return {
    enqueue: async (dir, ttl, signal) => toNode((await keys.create(dir, token, { ttl, signal })).node),
    refresh: async (node, ttl, signal) => {
      try {
        // CAS on prevIndex, never a blind update (docker/libkv#31): a node someone else
        // changed or deleted is a lost lock.
        return (await keys.refresh(node.path, ttl, { prevIndex: node.index, signal })).node.modifiedIndex;
      } catch (error) {
        if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')
          throw new LockLostError(userKey, { cause: error });
        if (isEtcdError(error) && error.code === 'ETCD_TEST_FAILED') {
          // A changed index on a node that is still ours (same createdIndex, our token) is our
          // own earlier refresh whose answer was lost: adopt it. Anything else is a lost lock.
          const current = await keys.get(node.path, { quorum: true, signal }).catch(() => undefined);
          if (current && current.node.createdIndex === node.createIndex && current.node.value === token)
            return current.node.modifiedIndex;
          throw new LockLostError(userKey, { cause: error });
        }
        throw error;
      }
    },
    contenders: async (dir, signal) => {
      try {
        const { node } = await keys.get(dir, { quorum: true, signal });
        return (node.nodes ?? [])
          .filter((child) => !child.dir)
          .map(toNode)
          .sort((a, b) => a.createIndex - b.createIndex);
      } catch (error) {
        if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return [];
        throw error;
      }
    },
    waitGone: async (node, signal) => {
      const stop = new StopSignal();
      const onAbort = (): void => stop.abort(signal.reason);
      if (signal.aborted) onAbort();
      else signal.addEventListener('abort', onAbort, { once: true });
      let gone = false;
      const done = (): void => {
        gone = true;
        stop.abort(new AbortError());
      };
      // A poll of its own (`keys`, not the shared polls), as before shared polls: a lock waits
      // on one predecessor, so sharing saves nothing, and its safety should not depend on them.
      const source = new EtcdPollSource<string>(
        keys,
        keys,
        node.path,
        { recursive: false, fromIndex: node.index + 1, stop },
        {
          event: (result) => {
            if (isDeletion(result.action)) done();
          },
          // After a 401: gone unless the node read is still the one we waited on.
          read: (nodes) => {
            if (nodes[0]?.createdIndex !== node.createIndex) done();
          },
        },
      );
      try {
        await runWatchLoop(
          source,
          { connected: () => undefined, disconnected: () => undefined },
          { stop, timing },
        );
      } finally {
        signal.removeEventListener('abort', onAbort);
      }
      if (!gone) throw signal.reason instanceof Error ? signal.reason : new AbortError();
    },
    remove: async (node, signal) => {
      let index = node.index;
      for (let attempt = 0; attempt < 5; attempt++) {
        try {
          await keys.del(node.path, { prevIndex: index, signal });
          return;
        } catch (error) {
          if (isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND') return;
          if (!(isEtcdError(error) && error.code === 'ETCD_TEST_FAILED')) throw error;
          // A refresh moved the index; delete only if it is still our node.
          try {
            const current = await keys.get(node.path, { quorum: true, signal });
            if (current.node.createdIndex !== node.createIndex) return;
            index = current.node.modifiedIndex;
          } catch (readError) {
            if (isEtcdError(readError) && readError.code === 'ETCD_KEY_NOT_FOUND') return;
            throw readError;
          }
        }
      }
    },
    removeEmpty: async (dir, signal) => {
      // A non-recursive directory delete, which etcd refuses (108) while a contender's node is
      // in it: the queue folder, then each emptied parent up to `.polykv` itself.
      const top = space.reserved();
      for (let at = dir; at.startsWith(`${top}/`) || at === top; at = at.slice(0, at.lastIndexOf('/'))) {
        try {
          await keys.rmdir(at, { signal });
        } catch (error) {
          if (!(isEtcdError(error) && error.code === 'ETCD_KEY_NOT_FOUND')) return;
        }
        if (at === top) return;
      }
    },
  };
}

/**
 * A test aid: deletes the node of the lock's current holder (the first child, by createdIndex,
 * of `<prefix>/.polykv/locks/<key>`) behind its back. The holder's `lost` follows.
 */
export async function breakQueueLock(client: EtcdClient, space: KeySpace, lock: Lock): Promise<void> {
  const dir = space.reserved('locks', lock.key);
  const { node } = await client.keys.get(dir, { quorum: true });
  const holder = [...(node.nodes ?? [])].sort((a, b) => a.createdIndex - b.createdIndex)[0];
  if (holder) await client.keys.del(holder.key);
}
