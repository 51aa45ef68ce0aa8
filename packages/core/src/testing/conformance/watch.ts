import assert from 'node:assert/strict';
import type { Watcher } from '../../watch/watcher.js';
import { EventLog, type StoreTest } from './support.js';

/** Watches: order, no event skipped or repeated, initial state, `fromIndex`, `resync`, close. */
export function watchTests(test: StoreTest): void {
  test('delivers the current value first, then each update, then the delete', async (open) => {
    const store = await open();
    await store.set('w', 'v0');
    const watcher = store.watch('w');
    let eventsBeforeConnected = -1;
    watcher.once('connected', () => (eventsBeforeConnected = log.events.length));
    const log = new EventLog(watcher);
    const [initial] = await log.waitFor(1, 5000);
    await new Promise<void>((resolve) =>
      watcher.isConnected ? resolve() : watcher.once('connected', resolve),
    );
    assert.equal(eventsBeforeConnected, 1, 'the initial state arrives before the first connected event');
    assert.deepEqual(
      [initial?.type, (initial as { value: string }).value, (initial as { initial?: boolean }).initial],
      ['put', 'v0', true],
    );
    await store.set('w', 'v1');
    await store.set('w', 'v2');
    await store.del('w');
    const events = await log.waitFor(4, 10_000);
    assert.deepEqual(
      events.map((event) => [event.type, (event as { value?: string }).value]),
      [
        ['put', 'v0'],
        ['put', 'v1'],
        ['put', 'v2'],
        ['delete', undefined],
      ],
    );
    await log.watcher.close();
  });

  test('a key that does not exist yet: its creation arrives', async (open) => {
    const store = await open();
    const watcher = store.watch('later/key');
    const connected = new Promise<void>((resolve) => watcher.once('connected', resolve));
    const log = new EventLog(watcher);
    await connected;
    await store.set('later/key', 'hello');
    const [event] = await log.waitFor(1, 10_000);
    assert.equal(event?.type, 'put');
    assert.equal((event as { key: string }).key, 'later/key');
    await watcher.close();
  });

  test('recursive: child puts and deletes; a directory delete gives one delete per key; unrelated keys give nothing', async (open) => {
    const store = await open();
    await store.set('tree/a', '1');
    const watcher = store.watch('tree', { recursive: true });
    const log = new EventLog(watcher);
    await log.waitFor(1, 5000);
    await store.set('treehouse', 'not mine');
    await store.set('other/x', 'not mine');
    await store.set('tree/b/c', '2');
    await store.set('tree/b/d', '3');
    await store.del('tree/b', { recursive: true });
    await store.del('tree/a');
    const events = await log.waitFor(6, 10_000);
    assert.deepEqual(log.keyEvents(), [
      { type: 'put', key: 'tree/a' },
      { type: 'put', key: 'tree/b/c' },
      { type: 'put', key: 'tree/b/d' },
      { type: 'delete', key: 'tree/b/c' },
      { type: 'delete', key: 'tree/b/d' },
      { type: 'delete', key: 'tree/a' },
    ]);
    assert.equal(events[3]!.index, events[4]!.index, 'one directory delete, one index');
    await watcher.close();
  });

  test('replays every change from fromIndex, in order', async (open) => {
    const store = await open();
    const first = await store.set('r', '1');
    await store.set('r', '2');
    await store.set('r', '3');
    const log = new EventLog(store.watch('r', { fromIndex: first.index }));
    if (store.capabilities.watchHistory === 0) {
      // No event history (Consul): the watch delivers the current state of the keys changed
      // since fromIndex, then a resync event; intermediate values cannot be replayed.
      await log.waitFor(1, 10_000, (event) => event.type === 'resync');
      const puts = log.events.filter((event) => event.type === 'put');
      assert.deepEqual(
        puts.map((event) => (event as { value: string }).value),
        ['3'],
      );
      assert.ok(puts.every((event) => !(event as { initial?: boolean }).initial));
      await store.set('r', '4');
      await log.waitFor(1, 10_000, (event) => (event as { value?: string }).value === '4');
    } else {
      const events = await log.waitFor(3, 10_000);
      assert.deepEqual(
        events.map((event) => (event as { value: string }).value),
        ['1', '2', '3'],
      );
      assert.ok(events.every((event) => !(event as { initial?: boolean }).initial));
      await store.set('r', '4');
      await log.waitFor(4, 10_000);
    }
    const resumeFrom = log.watcher.nextIndex!;
    await log.watcher.close();
    await store.set('r', '5');
    const resumed = new EventLog(store.watch('r', { fromIndex: resumeFrom }));
    const later = await resumed.waitFor(1, 10_000);
    assert.equal(
      (later[0] as { value: string }).value,
      '5',
      'resuming at nextIndex skips nothing and repeats nothing',
    );
    await resumed.watcher.close();
  });

  test('without the initial values: nothing for the current state, a nextIndex once connected, resuming at it repeats nothing', async (open) => {
    const store = await open();
    const a = await store.set('quiet/a', '1');
    const b = await store.set('quiet/b', '2');
    const watcher = store.watch('quiet', { recursive: true, initial: false });
    const log = new EventLog(watcher);
    await new Promise<void>((resolve) => watcher.once('connected', resolve));
    const anchored = watcher.nextIndex;
    assert.ok(anchored !== undefined && anchored > Math.max(a.index, b.index), `nextIndex ${anchored}`);
    await store.set('quiet/c', '3');
    const [event] = await log.waitFor(1, 10_000);
    assert.deepEqual(log.keyEvents(), [{ type: 'put', key: 'quiet/c' }], 'only the change after the start');
    assert.equal(event?.index, (await store.get('quiet/c'))?.index);
    await watcher.close();
    // A watch closed before any change still knows where to resume (a mirror's checkpoint needs it).
    const idle = store.watch('quiet', { recursive: true, initial: false });
    await new Promise<void>((resolve) => idle.once('connected', resolve));
    const resumeFrom = idle.nextIndex!;
    await idle.close();
    await store.set('quiet/d', '4');
    const resumed = new EventLog(store.watch('quiet', { recursive: true, fromIndex: resumeFrom }));
    await resumed.waitFor(1, 10_000, (event) => event.type === 'put');
    await new Promise((resolve) => setTimeout(resolve, 200));
    assert.deepEqual(
      resumed.keyEvents(),
      [{ type: 'put', key: 'quiet/d' }],
      'resuming at nextIndex skips nothing and repeats nothing',
    );
    await resumed.watcher.close();
  });

  test('a TTL expiry arrives as an expire event', async (open) => {
    const store = await open();
    const log = new EventLog(store.watch('ttl', { recursive: true }));
    await new Promise<void>((resolve) => log.watcher.once('connected', resolve));
    await store.set('ttl/k', 'v', { ttl: store.capabilities.minTtl });
    const limit = store.capabilities.minTtl * 1000 * store.capabilities.ttlExpiryFactor + 5000;
    const events = await log.waitFor(2, limit);
    assert.deepEqual(
      events.map((event) => event.type),
      ['put', 'expire'],
    );
    await log.watcher.close();
  }, 60_000);

  test('the async iterator yields the same events; break closes the watch', async (open) => {
    const store = await open();
    await store.set('it', 'a');
    const watcher = store.watch('it');
    const seen: string[] = [];
    const writer = (async () => {
      await new Promise<void>((resolve) => watcher.once('connected', resolve));
      await store.set('it', 'b');
      await store.set('it', 'c');
    })();
    for await (const event of watcher) {
      if (event.type === 'put') seen.push(event.value);
      if (seen.length === 3) break;
    }
    await writer;
    assert.deepEqual(seen, ['a', 'b', 'c']);
    await watcher.closed;
    assert.equal(watcher.ended, true);
  });

  test('aborting the signal ends the watch; close() of the store ends open watches', async (open) => {
    const store = await open();
    const controller = new AbortController();
    const aborted = store.watch('x', { signal: controller.signal });
    const open2 = store.watch('y', { recursive: true });
    const ended = (watcher: Watcher) => new Promise<void>((resolve) => watcher.once('end', resolve));
    const abortedEnd = ended(aborted);
    controller.abort();
    await abortedEnd;
    await aborted.closed;
    const openEnd = ended(open2);
    const iterator = open2[Symbol.asyncIterator]();
    const pending = iterator.next();
    await store.close();
    await openEnd;
    assert.deepEqual(await pending, { value: undefined, done: true });
  });

  test('lock keys never show up in list or watch', async (open) => {
    const store = await open();
    const log = new EventLog(store.watch('', { recursive: true }));
    await new Promise<void>((resolve) => log.watcher.once('connected', resolve));
    await store.set('visible', 'v');
    const lock = await store.lock('visible', { ttl: store.capabilities.minTtl });
    assert.deepEqual(
      (await store.list('', { recursive: true })).map((entry) => entry.key),
      ['visible'],
    );
    assert.equal((await store.get('visible'))?.value, 'v', 'locking leaves the value alone');
    await lock.release();
    await store.set('visible', 'w');
    await log.waitFor(2, 10_000);
    assert.deepEqual(log.keyEvents(), [
      { type: 'put', key: 'visible' },
      { type: 'put', key: 'visible' },
    ]);
    await log.watcher.close();
  });
}
