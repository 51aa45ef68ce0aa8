import { joinKey, parentKey } from './keys.js';
import { MAX_TIMER_MS } from './signal.js';

/** The data of `memory://`: one "server" that several stores can share (see `MemoryStore`). */

export type Raw = string | Uint8Array;

export interface MemoryNode {
  dir: boolean;
  raw: Raw | undefined;
  index: number;
  createIndex: number;
  expiresAt: number | undefined;
  children: Set<string> | undefined;
  /** The key's flags (0n: none), as Consul's `Flags`: memory:// keeps them so data round-trips. */
  flags: bigint;
}

export interface HistoryEvent {
  type: 'put' | 'delete' | 'expire';
  path: string;
  raw: Raw | undefined;
  index: number;
  createIndex: number;
  expiresAt: number | undefined;
  flags: bigint;
}

export interface Subscription {
  path: string;
  recursive: boolean;
  deliver(event: HistoryEvent): void;
}

/** The shared state of one in-memory "server". */
export class MemoryBackend {
  index = 0;
  readonly nodes = new Map<string, MemoryNode>([
    [
      '',
      {
        dir: true,
        raw: undefined,
        index: 0,
        createIndex: 0,
        expiresAt: undefined,
        children: new Set(),
        flags: 0n,
      },
    ],
  ]);
  readonly history: HistoryEvent[] = [];
  /** The highest index whose events were dropped from `history`. */
  droppedUpTo = 0;
  readonly subscriptions = new Set<Subscription>();
  readonly timers = new Map<string, NodeJS.Timeout>();

  constructor(readonly historySize: number) {}

  record(event: HistoryEvent): void {
    this.history.push(event);
    while (this.history.length > this.historySize) this.droppedUpTo = this.history.shift()!.index;
    for (const subscription of this.subscriptions) {
      const { path, recursive } = subscription;
      const matches =
        event.path === path || (recursive && (path === '' || event.path.startsWith(`${path}/`)));
      // Delivered on a microtask, in order, so that listeners never run inside the writer's call.
      if (matches) queueMicrotask(() => subscription.deliver(event));
    }
  }

  /** Every value path at or below `path`, with its node, in key order. */
  values(path: string): [string, MemoryNode][] {
    const node = this.nodes.get(path);
    if (!node) return [];
    if (!node.dir) return [[path, node]];
    const out: [string, MemoryNode][] = [];
    for (const name of [...node.children!].sort()) out.push(...this.values(joinKey(path, name)));
    return out;
  }

  /** Removes `path` and its subtree; records one event per value removed. */
  remove(path: string, type: 'delete' | 'expire', index: number): void {
    const node = this.nodes.get(path);
    if (!node) return;
    if (node.dir) for (const name of [...node.children!]) this.remove(joinKey(path, name), type, index);
    this.clearTimer(path);
    if (path === '') return;
    this.nodes.delete(path);
    this.nodes.get(parentKey(path))?.children?.delete(path.slice(path.lastIndexOf('/') + 1));
    if (!node.dir) {
      this.record({
        type,
        path,
        raw: undefined,
        index,
        createIndex: node.createIndex,
        expiresAt: undefined,
        flags: 0n,
      });
    }
  }

  /** Removes `dir` if it is an empty directory, then each empty parent up to and including `top`. */
  removeEmptyDirs(dir: string, top: string): void {
    for (let at = dir; at !== '' && (at === top || at.startsWith(`${top}/`)); at = parentKey(at)) {
      const node = this.nodes.get(at);
      if (!node?.dir || node.children!.size > 0) return;
      this.remove(at, 'delete', this.index);
    }
  }

  clearTimer(path: string): void {
    const timer = this.timers.get(path);
    if (timer) {
      clearTimeout(timer);
      this.timers.delete(path);
    }
  }

  armExpiry(path: string, node: MemoryNode): void {
    this.clearTimer(path);
    if (node.expiresAt === undefined) return;
    const expiresAt = node.expiresAt;
    const timer = setTimeout(
      () => {
        this.timers.delete(path);
        const current = this.nodes.get(path);
        if (current?.expiresAt !== expiresAt) return;
        // A TTL longer than one timer can wait (about 24.8 days) takes several timers.
        if (Date.now() < expiresAt) this.armExpiry(path, current);
        else this.remove(path, 'expire', ++this.index);
      },
      Math.min(MAX_TIMER_MS, Math.max(0, expiresAt - Date.now())),
    );
    timer.unref();
    this.timers.set(path, timer);
  }
}

const namedBackends = new Map<string, MemoryBackend>();

/** The named data set (shared by every store of that name in this process), or a new one. */
export function memoryBackend(name: string | undefined, historySize: number): MemoryBackend {
  if (name === undefined) return new MemoryBackend(historySize);
  let backend = namedBackends.get(name);
  if (!backend) {
    backend = new MemoryBackend(historySize);
    namedBackends.set(name, backend);
  }
  return backend;
}
