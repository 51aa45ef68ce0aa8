import { LockLostError, TimeoutError } from './errors.js';
import { KeepAlive, Lock } from './lock.js';
import { anySignal, deadline, follow, type Deadline } from './signal.js';
import type { LockOptions } from './types.js';
import { checkWait } from './validate.js';

/** How many hold at once: 1 for a lock, the semaphore's limit otherwise. */
export interface QueueLimit {
  /** @defaultValue 1 */
  limit?: number;
}

/** A contender's node in the lock queue. */
export interface QueueNode {
  /** The backend path of the node. */
  path: string;
  /** The node's current modification index (changes on every refresh). */
  index: number;
  /** The index at which the node was created: its place in the queue, and the fencing token. */
  createIndex: number;
}

/**
 * The backend operations the queue lock needs. Paths are backend paths in a library-owned space,
 * so none of the user-key checks apply.
 */
export interface LockQueue {
  /** Creates an in-order node with a TTL under `dir` (etcd: POST). */
  enqueue(dir: string, ttlSeconds: number, signal: AbortSignal | undefined): Promise<QueueNode>;
  /**
   * Refreshes the node's TTL only if it still has `node.index` (etcd: PUT refresh with prevIndex,
   * never a blind update). Resolves the new index; rejects with `LockLostError` when the node is gone
   * or changed.
   */
  refresh(node: QueueNode, ttlSeconds: number, signal: AbortSignal): Promise<number>;
  /** Every node under `dir`, in queue order (ascending createIndex). */
  contenders(dir: string, signal: AbortSignal | undefined): Promise<QueueNode[]>;
  /** Resolves when `node` is deleted or expires. */
  waitGone(node: QueueNode, signal: AbortSignal): Promise<void>;
  /** Deletes the node if it is still the same node; a missing node is fine. */
  remove(node: QueueNode, signal: AbortSignal | undefined): Promise<void>;
  /**
   * Deletes the queue directory `dir` (and empty parents in the library's space) if it is empty,
   * so that nothing stays behind once nobody waits. Never deletes a directory that has a node:
   * etcd refuses a non-recursive delete of a non-empty directory. Best effort: called after
   * `remove`, its failures are ignored.
   */
  removeEmpty?(dir: string, signal: AbortSignal | undefined): Promise<void>;
}

/**
 * The etcd v2 lock recipe, over any {@link LockQueue}: enqueue an in-order node with a TTL, keep it
 * alive by CAS refresh, and hold the lock when no node sorts before ours; otherwise wait for the
 * node just before ours to go, then look again (it may have died without being first). The node's
 * createIndex is the fencing token, so it grows with every acquisition.
 *
 * With `limit` N it is a semaphore: the first N nodes hold. A waiter watches the N nodes just
 * before its own: it can only come among the first N when one of them goes (a node further ahead
 * going leaves those N ahead of it), so nobody polls and a release wakes at most N waiters.
 */
export async function acquireQueueLock(
  queue: LockQueue,
  key: string,
  dir: string,
  options: LockOptions & QueueLimit & { ttl: number },
): Promise<Lock> {
  const waitMs = checkWait(options.wait);
  const limit = options.limit ?? 1;
  const what =
    limit === 1 ? `lock ${key} is held by another holder` : `semaphore ${key} has ${limit} holders`;
  const bound = deadline(options.signal, options.timeout);
  let me = await queue.enqueue(dir, options.ttl, bound.signal);
  let lost: unknown;
  // Filled in once acquired; the keep-alive reports a loss to whichever stage we are in.
  const held: { lock?: Lock } = {};
  const waiting = new AbortController();
  const keepAlive = new KeepAlive(
    options.ttl,
    async (signal) => {
      me = { ...me, index: await queue.refresh(me, options.ttl, signal) };
    },
    (cause) => {
      lost = cause;
      const error = cause instanceof LockLostError ? cause : new LockLostError(key, { cause });
      if (held.lock) held.lock.markLost(error);
      else waiting.abort(error);
    },
  );
  const cleanUp = async (signal: AbortSignal | undefined): Promise<void> => {
    await queue.removeEmpty?.(dir, signal).catch(() => undefined);
  };
  const giveUp = async (error: unknown): Promise<never> => {
    keepAlive.stop();
    await queue.remove(me, undefined).then(
      () => cleanUp(undefined),
      () => undefined,
    );
    throw error;
  };
  const started = Date.now();
  try {
    for (;;) {
      const round = anySignal([waiting.signal, ...(bound.signal ? [bound.signal] : [])]);
      const signal = round.signal;
      let waitBound: Deadline | undefined;
      try {
        const nodes = await queue.contenders(dir, signal);
        const mine = nodes.findIndex((node) => node.createIndex === me.createIndex);
        if (mine === -1)
          throw new LockLostError(key, { message: `lock ${key}: our queue node vanished while waiting` });
        if (mine < limit) break;
        const ahead = nodes.slice(mine - limit, mine);
        const remaining = waitMs - (Date.now() - started);
        if (remaining <= 0) throw new TimeoutError(what, { key, timeoutMs: waitMs });
        // A referenced timer (not AbortSignal.timeout): a waiter alone must keep the process alive.
        waitBound = deadline(signal, Number.isFinite(remaining) ? remaining : undefined);
        await waitAnyGone(queue, ahead, waitBound.signal ?? signal);
      } catch (error) {
        if (signal.aborted) throw error;
        if (waitBound?.signal?.aborted) throw new TimeoutError(what, { key, timeoutMs: waitMs });
        throw error;
      } finally {
        waitBound?.dispose();
        round.dispose();
      }
    }
  } catch (error) {
    if (lost !== undefined)
      return giveUp(lost instanceof LockLostError ? lost : new LockLostError(key, { cause: lost }));
    // The caller's signal or timeout wins over whatever the backend made of the abort.
    if (bound.signal?.aborted) return giveUp(bound.error(error));
    return giveUp(error);
  } finally {
    bound.dispose();
  }
  // The holder watches its own node: a delete by someone else (or an expiry) is a loss now, not at
  // the next refresh (a third of the TTL later, while a waiting contender takes the lock at once).
  const watching = new AbortController();
  const lock = new Lock(
    key,
    me.createIndex,
    async (releaseOptions) => {
      watching.abort();
      keepAlive.stop();
      const release = deadline(releaseOptions.signal, releaseOptions.timeout);
      try {
        await queue.remove(me, release.signal);
        await cleanUp(release.signal);
      } finally {
        release.dispose();
      }
    },
    () => keepAlive.deadline,
    () => {
      // Abandoned (a test's dead holder): no more renewals, and the node stays until its TTL.
      watching.abort();
      keepAlive.stop();
    },
  );
  held.lock = lock;
  lock.once('lost', () => {
    if (lock.abandoned) return;
    watching.abort();
    keepAlive.stop();
    // Lost by the local deadline, our node may still be there: take it away (only if it is still
    // ours), so that the next contender need not wait for its TTL.
    void queue.remove(me, undefined).catch(() => undefined);
  });
  queue.waitGone(me, watching.signal).then(
    () =>
      lock.markLost(
        new LockLostError(key, { message: `lock ${key} lost: its queue node was deleted or expired` }),
      ),
    // Stopped (released, lost), or the watch failed for good: the keep-alive still guards the lock.
    () => undefined,
  );
  return lock;
}

/** Resolves when any of `nodes` is gone (one wait each, all stopped once one ends). */
async function waitAnyGone(queue: LockQueue, nodes: QueueNode[], signal: AbortSignal): Promise<void> {
  if (nodes.length === 1) return queue.waitGone(nodes[0]!, signal);
  const done = new AbortController();
  const unfollow = follow(signal, done);
  try {
    await Promise.race(nodes.map((node) => queue.waitGone(node, done.signal)));
  } finally {
    unfollow();
    done.abort();
  }
}
