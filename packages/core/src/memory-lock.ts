import { ClosedError, LockLostError } from './errors.js';
import { joinKey } from './keys.js';
import type { MemoryBackend, MemoryNode, Subscription } from './memory-backend.js';
import type { LockQueue, QueueNode } from './queue-lock.js';
import { throwIfAborted } from './signal.js';

/**
 * The etcd v2 lock recipe's operations on `memory://` (see `acquireQueueLock`). `write` creates a
 * queue node with a TTL at a path (the store's own write, so watches and expiry behave as for keys).
 * `top` is the library's reserved folder: emptied queue folders are removed up to it.
 */
export function memoryLockQueue(
  backend: MemoryBackend,
  userKey: string,
  top: string,
  write: (path: string, ttl: number) => void,
): LockQueue {
  const nodeOf = (path: string): MemoryNode | undefined => backend.nodes.get(path);
  const queueNode = (path: string, node: MemoryNode): QueueNode => ({
    path,
    index: node.index,
    createIndex: node.createIndex,
  });
  return {
    enqueue: async (dir, ttl, signal) => {
      throwIfAborted(signal);
      const name = String(backend.index + 1).padStart(20, '0');
      const path = joinKey(dir, name);
      write(path, ttl);
      return queueNode(path, nodeOf(path)!);
    },
    refresh: async (node, ttl) => {
      const current = nodeOf(node.path);
      if (!current || current.index !== node.index) throw new LockLostError(userKey);
      current.index = ++backend.index;
      current.expiresAt = Date.now() + ttl * 1000;
      backend.armExpiry(node.path, current);
      return current.index;
    },
    contenders: async (dir) => {
      const node = nodeOf(dir);
      if (!node?.dir) return [];
      return [...node.children!]
        .map((name) => queueNode(joinKey(dir, name), nodeOf(joinKey(dir, name))!))
        .sort((a, b) => a.createIndex - b.createIndex);
    },
    waitGone: (node, signal) =>
      new Promise<void>((resolve, reject) => {
        if (nodeOf(node.path)?.createIndex !== node.createIndex) {
          resolve();
          return;
        }
        const subscription: Subscription = {
          path: node.path,
          recursive: false,
          deliver: (event) => {
            if (event.type === 'put') return;
            backend.subscriptions.delete(subscription);
            resolve();
          },
        };
        backend.subscriptions.add(subscription);
        signal.addEventListener(
          'abort',
          () => {
            backend.subscriptions.delete(subscription);
            reject(signal.reason instanceof Error ? signal.reason : new ClosedError('wait aborted'));
          },
          { once: true },
        );
      }),
    remove: async (node) => {
      if (nodeOf(node.path)?.createIndex === node.createIndex)
        backend.remove(node.path, 'delete', ++backend.index);
    },
    removeEmpty: async (dir) => backend.removeEmptyDirs(dir, top),
  };
}
