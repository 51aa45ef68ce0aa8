import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { binaryCodec, copy, createMemoryStore, diff, planTtl } from '@polykv/core';

describe('memory:// fidelity', () => {
  it('flags round-trip through copy, and diff compares them', async () => {
    const source = createMemoryStore({ codec: binaryCodec });
    const target = createMemoryStore({ codec: binaryCodec });
    await source.set('a', new Uint8Array([1, 2]), { flags: 42 });
    await source.set('b', new Uint8Array([3]));
    const summary = await copy(source, target);
    assert.deepEqual(summary.failed, []);
    assert.deepEqual(summary.adjusted, []);
    assert.equal((await target.get('a'))?.flags, 42n);
    assert.equal((await target.get('b'))?.flags, undefined);
    await target.set('a', new Uint8Array([1, 2]), { flags: 43 });
    const result = await diff(source, target);
    assert.deepEqual(result, { missing: [], extra: [], different: ['a'], unlisted: [] });
    const again = await copy(source, target, { overwrite: true });
    assert.deepEqual(again.copied, ['a']);
    assert.equal((await target.get('a'))?.flags, 42n);
  });

  it('lock queue folders are removed once nobody waits', async () => {
    const store = createMemoryStore({ name: 'fidelity-locks' });
    const reserved = createMemoryStore({ name: 'fidelity-locks', prefix: '.polykv' });
    const lock = await store.lock('a/b', { ttl: 5 });
    assert.deepEqual(
      (await reserved.list('', { recursive: true })).map((entry) => entry.key),
      ['locks', 'locks/a', 'locks/a/b', `locks/a/b/${lock.fencingToken.toString().padStart(20, '0')}`],
    );
    await lock.release();
    assert.deepEqual(await reserved.list('', { recursive: true }), []);
    await store.close();
    await reserved.close();
  });

  it('planTtl: rounded up, raised to the minimum with a note, expired when gone', () => {
    const now = Date.now();
    const consulLike = { kind: 'consul', capabilities: { minTtl: 10 } } as Parameters<typeof planTtl>[1];
    assert.deepEqual(planTtl(undefined, consulLike, now), { ttl: undefined });
    assert.deepEqual(planTtl(new Date(now + 5_200), consulLike, now), {
      ttl: 10,
      note: "ttl raised from 6 s to 10 s (Consul's minimum)",
    });
    assert.deepEqual(planTtl(new Date(now + 30_000), consulLike, now), { ttl: 30 });
    assert.equal(planTtl(new Date(now - 1), consulLike, now), 'expired');
  });
});
