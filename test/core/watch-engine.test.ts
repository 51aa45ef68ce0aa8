// Core's watch engine on its own (no server): the loop's retry, report and end rules, a
// stream-shaped source in the same loop, the Store watcher's connection events, the shared-poll
// registry's lookup, the stop signal's listeners and SmallMap. The backends' sources are tested
// against real servers in their folders.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  offAbort,
  onAbort,
  PollRegistry,
  runWatchLoop,
  SharedPoll,
  SmallMap,
  StopSignal,
  Watcher,
  type PollSource,
  type WatchEvent,
} from '@polykv/core';

const timing = { backoffMs: 1, maxBackoffMs: 4, random: () => 0 };

/** A request that waits until `stop` aborts, as an idle long poll does (its signal is the stop). */
function idle(stop: StopSignal): Promise<never> {
  return new Promise((_resolve, reject) => {
    if (stop.aborted) reject(stop.reason);
    else stop.add(() => reject(stop.reason));
  });
}

/** A source that plays a script: each round takes the next step (an answer, or an error to throw). */
function scripted(stop: StopSignal, steps: ({ answer: number } | { error: Error })[], terminal?: Error) {
  const asked: number[] = [];
  const applied: number[] = [];
  const source: PollSource<number> = {
    next(failures) {
      asked.push(failures);
      const step = steps.shift();
      if (!step) return idle(stop);
      return 'error' in step ? Promise.reject(step.error) : Promise.resolve(step.answer);
    },
    apply(answer) {
      applied.push(answer);
    },
    isTerminal: (error) => error === terminal,
  };
  return { source, asked, applied };
}

describe('runWatchLoop', () => {
  it('reports every failure with its attempt, retries, and reports the first good round after', async () => {
    const boom = new Error('refused');
    const stop = new StopSignal();
    const { source, asked, applied } = scripted(stop, [
      { error: boom },
      { error: boom },
      { answer: 1 },
      { answer: 2 },
    ]);
    const reports: string[] = [];
    const loop = runWatchLoop(
      source,
      {
        connected: () => reports.push('connected'),
        disconnected: (cause, attempt) => reports.push(`disconnected ${attempt} ${(cause as Error).message}`),
      },
      { stop, timing },
    );
    while (applied.length < 2) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort(new Error('stopped'));
    await loop;
    assert.deepEqual(reports, ['disconnected 0 refused', 'disconnected 1 refused', 'connected', 'connected']);
    // The source learns how many rounds failed before each one (Consul reads at once after one).
    assert.deepEqual(asked.slice(0, 4), [0, 1, 2, 0]);
  });

  it('a terminal error, or maxFailures in a row, rejects the loop without a disconnected report', async () => {
    const denied = new Error('denied');
    const terminal = scripted(new StopSignal(), [{ error: denied }], denied);
    const reports: unknown[] = [];
    const report = {
      connected: () => reports.push('connected'),
      disconnected: (cause: unknown) => reports.push(cause),
    };
    await assert.rejects(runWatchLoop(terminal.source, report, { stop: new StopSignal(), timing }), denied);
    assert.deepEqual(reports, []);

    const boom = new Error('boom');
    const failing = scripted(new StopSignal(), [{ error: boom }, { error: boom }, { error: boom }]);
    await assert.rejects(
      runWatchLoop(failing.source, report, { stop: new StopSignal(), timing, maxFailures: 3 }),
      boom,
    );
    assert.equal(reports.length, 2, 'the last failure ends the loop instead');
  });

  it('a failed apply is a failed round; a stop during the backoff resolves the loop', async () => {
    const stop = new StopSignal();
    let rounds = 0;
    const source: PollSource<number> = {
      next: () => Promise.resolve(++rounds),
      apply: () => {
        throw new Error('bad answer');
      },
      isTerminal: () => false,
    };
    const loop = runWatchLoop(
      source,
      { connected: () => assert.fail('never connected'), disconnected: () => stop.abort(new Error('stop')) },
      { stop, timing: { backoffMs: 60_000, maxBackoffMs: 60_000 } },
    );
    await loop;
    assert.equal(rounds, 1);
  });

  it('a stream-shaped source fits the same loop: next() hands over the next message, reopening the stream after a failure', async () => {
    // An etcd v3-like stream: events carry revisions; the stream breaks; a compaction means a re-read.
    const server = { revision: 3, compacted: 0, values: new Map([['a', '1']]) };
    interface Message {
      kind: 'event' | 'compacted' | 'snapshot';
      revision: number;
      key?: string;
      value?: string;
    }
    let stream: Message[] | undefined;
    let opened = 0;
    const delivered: string[] = [];
    const stop = new StopSignal();
    let cursor = 2; // watching from revision 2
    let needRead = false;
    const scriptedStream: Message[][] = [
      [{ kind: 'event', revision: 2, key: 'a', value: '1' }], // then the stream breaks
      [{ kind: 'compacted', revision: 3 }], // reopened from 3: history compacted
      [{ kind: 'event', revision: 4, key: 'b', value: '2' }],
    ];
    const source: PollSource<Message> = {
      next() {
        if (needRead) return Promise.resolve({ kind: 'snapshot', revision: server.revision });
        if (stream === undefined || stream.length === 0) {
          if (stream !== undefined) {
            stream = undefined;
            return Promise.reject(new Error('stream closed'));
          }
          stream = scriptedStream[opened++];
          if (!stream) return idle(stop);
        }
        return Promise.resolve(stream.shift()!);
      },
      apply(message) {
        if (message.kind === 'compacted') needRead = true;
        else if (message.kind === 'snapshot') {
          needRead = false;
          delivered.push(`resync ${message.revision}`);
          cursor = message.revision + 1;
        } else {
          delivered.push(`${message.key}=${message.value}@${message.revision}`);
          cursor = message.revision + 1;
        }
      },
      isTerminal: () => false,
    };
    const reports: string[] = [];
    const loop = runWatchLoop(
      source,
      { connected: () => reports.push('connected'), disconnected: () => reports.push('disconnected') },
      { stop, timing },
    );
    while (delivered.length < 3) await new Promise((resolve) => setTimeout(resolve, 5));
    stop.abort(new Error('done'));
    await loop;
    assert.deepEqual(delivered, ['a=1@2', 'resync 3', 'b=2@4']);
    assert.equal(cursor, 5);
    assert.ok(reports.includes('disconnected'), reports.join());
  });
});

describe('Watcher (the Store surface)', () => {
  it("says 'disconnected' from the first failed attempt, also before it was ever connected, once per outage", async () => {
    const events: string[] = [];
    const watcher = new Watcher<string>('k', {}, async (sink) => {
      sink.disconnected(new Error('refused'));
      sink.disconnected(new Error('refused again'));
      sink.connected();
      sink.emit({ type: 'put', key: 'k', value: 'v', index: 5, createIndex: 5 });
      sink.resynced(7);
      await new Promise<void>((resolve) => sink.stop.add(resolve));
    });
    watcher.on('disconnected', (cause) => events.push(`disconnected ${(cause as Error).message}`));
    watcher.on('connected', () => events.push('connected'));
    watcher.on('change', (event: WatchEvent) => events.push(`${event.type} ${event.index}`));
    while (events.length < 4) await new Promise((resolve) => setTimeout(resolve, 1));
    assert.equal(watcher.isConnected, true);
    await watcher.close();
    assert.deepEqual(events, ['disconnected refused', 'connected', 'put 5', 'resync 7']);
    assert.equal(watcher.nextIndex, 8);
  });
});

describe('PollRegistry', () => {
  class Poll extends SharedPoll<never> {
    next = (): Promise<never> => idle(this.stopSignal);
    apply(): void {}
    isTerminal = (): boolean => false;
    disconnected(): void {}
    protected refused(): void {}
    protected rejectAll(): void {}
  }

  it('finds the deepest running poll above a folder, per options, and makes none past maxPolls', () => {
    const registry = new PollRegistry<Poll>(2);
    const app = registry.add(() => new Poll(registry, 't1', 'app', 10))!;
    const deep = registry.add(() => new Poll(registry, 't1', 'app/config/db', 10))!;
    assert.equal(
      registry.add(() => new Poll(registry, 't1', 'other', 10)),
      undefined,
      'maxPolls',
    );
    assert.equal(registry.find('t1', 'app/config/db/x'), deep);
    assert.equal(registry.find('t1', 'app/config'), app);
    assert.equal(registry.find('t2', 'app/config'), undefined, 'another token polls on its own');
    assert.equal(registry.find('t1', 'application'), undefined);
    assert.equal(
      registry.find('t1', 'app/config/db', (poll) => poll !== deep),
      app,
    );
    deep.stop(undefined);
    assert.equal(registry.find('t1', 'app/config/db/x'), app);
    registry.remove(deep);
    assert.equal(registry.size, 1, 'a stopped poll leaves');
    assert.deepEqual(registry.values(), [app]);
    registry.close(undefined);
    assert.equal(registry.size, 0);
  });
});

describe('StopSignal and onAbort', () => {
  it('call functions and handleEvent objects once, in order; a removed one never', () => {
    const stop = new StopSignal();
    const calls: string[] = [];
    const waiter = { handleEvent: () => calls.push('object') };
    const removed = { handleEvent: () => calls.push('removed') };
    onAbort(stop, () => calls.push('function'));
    onAbort(stop, waiter);
    onAbort(stop, removed);
    offAbort(stop, removed);
    stop.abort(new Error('stop'));
    stop.abort(new Error('again'));
    assert.deepEqual(calls, ['function', 'object']);
    onAbort(stop, () => calls.push('late'));
    assert.deepEqual(calls, ['function', 'object'], 'never after the stop');
  });

  it("pass a handleEvent object to a real AbortSignal's listeners", () => {
    const controller = new AbortController();
    // A class instance, as the shared polls' waiters are: `handleEvent` runs with the object as `this`.
    class Waiter {
      called = 0;
      handleEvent(): void {
        this.called++;
      }
    }
    const waiter = new Waiter();
    onAbort(controller.signal, waiter);
    const removed = { handleEvent: () => assert.fail('removed') };
    onAbort(controller.signal, removed);
    offAbort(controller.signal, removed);
    controller.abort();
    assert.equal(waiter.called, 1);
  });
});

describe('SmallMap', () => {
  it('keeps one key in fields and moves to a Map from the second on, with the same answers', () => {
    const map = new SmallMap<number>();
    assert.equal(map.size, 0);
    map.set('a', 1);
    map.set('a', 2);
    assert.deepEqual([map.size, map.get('a'), map.has('a'), map.has('b')], [1, 2, true, false]);
    assert.deepEqual([...map.entries()], [['a', 2]]);
    map.set('b', 3);
    assert.deepEqual(
      [...map.entries()],
      [
        ['a', 2],
        ['b', 3],
      ],
    );
    map.delete('a');
    assert.deepEqual([...map.keys()], ['b']);
    const adopted = new Map([['x', 9]]);
    const over = new SmallMap(adopted);
    over.set('y', 10);
    assert.equal(adopted.get('y'), 10, 'a given Map is the store itself');
  });
});
