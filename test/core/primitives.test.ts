import assert from 'node:assert/strict';
import { getEventListeners } from 'node:events';
import { describe, it } from 'node:test';
import {
  anySignal,
  backoffDelay,
  binaryCodec,
  checkFlags,
  compareKeyPaths,
  deadline,
  decodeValue,
  extend,
  follow,
  isPolykvError,
  jsonCodec,
  KeySpace,
  joinKey,
  normalizeKey,
  sameRaw,
  sleep,
  utf8Codec,
} from '@polykv/core';

describe('key model', () => {
  it('compareKeyPaths orders segment by segment, as comparing the split keys does', () => {
    assert.deepEqual(['a/b-x', 'a/b/c', 'a', 'a/b', 'a!'].sort(compareKeyPaths), [
      'a',
      'a/b',
      'a/b/c',
      'a/b-x',
      'a!',
    ]);
    // The order of the split segments (what a tree walk gives), on random keys of characters below,
    // at and above `/` (and outside the BMP).
    const bySegments = (a: string, b: string): number => {
      const left = a.split('/');
      const right = b.split('/');
      for (let i = 0; i < Math.min(left.length, right.length); i++)
        if (left[i] !== right[i]) return left[i]! < right[i]! ? -1 : 1;
      return left.length - right.length;
    };
    const alphabet = ['a', 'b', '-', '.', '!', '/', 'é', '😀', '0'];
    let seed = 7;
    const random = (n: number): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) % n;
    const keys = Array.from({ length: 400 }, () =>
      Array.from({ length: 1 + random(6) }, () => alphabet[random(alphabet.length)]).join(''),
    );
    for (const a of keys)
      for (const b of keys)
        assert.equal(Math.sign(compareKeyPaths(a, b)), Math.sign(bySegments(a, b)), `${a} vs ${b}`);
  });

  it('normalizes one leading and one trailing slash, keeps everything else', () => {
    assert.equal(normalizeKey('/a/b/'), 'a/b');
    assert.equal(normalizeKey('a b/%2F/?#/ü🔑'), 'a b/%2F/?#/ü🔑');
    assert.equal(normalizeKey('', { root: true }), '');
    assert.equal(normalizeKey('/', { root: true }), '');
  });

  it('rejects empty, dot and dot-dot segments, control characters, reserved space and huge keys', () => {
    for (const key of [
      '',
      '//a',
      'a//b',
      'a/./b',
      'a/../b',
      '..',
      '.',
      './a',
      '../a',
      'a/.',
      'a/..',
      'a/./',
      '\u0007',
      'a\u007fb',
      '.polykv',
      '.polykv/x',
      'x'.repeat(4097),
      'bad\ud800',
      'nbsp\u00a0',
      'zwj\u200d',
      'bom\ufeff',
      'pua\ue000',
      'line\u2028',
    ]) {
      assert.throws(
        () => normalizeKey(key),
        (error: unknown) => isPolykvError(error) && error.code === 'INVALID_ARGUMENT',
        JSON.stringify(key).slice(0, 30),
      );
    }
    assert.equal(normalizeKey('x'.repeat(4096)).length, 4096);
    assert.equal(normalizeKey('a/.polykv/b'), 'a/.polykv/b', 'only the first segment is reserved');
    // Dots are refused only as a whole segment.
    for (const key of ['.a/b', 'a/..b', '.../a', 'a/b.', '.polykvx', 'a/...'])
      assert.equal(normalizeKey(key), key);
    assert.equal(joinKey('', 'a', '', 'b/c', ''), 'a/b/c');
    assert.equal(joinKey('', ''), '');
  });

  it('KeySpace joins under its prefix and maps back; outside paths map to undefined', () => {
    const space = new KeySpace('/tenant/a/');
    assert.equal(space.prefix, 'tenant/a');
    assert.equal(space.toBackend('/x/y'), 'tenant/a/x/y');
    assert.equal(space.toBackend('', { root: true }), 'tenant/a');
    assert.equal(space.reserved('locks', 'k'), 'tenant/a/.polykv/locks/k');
    assert.equal(space.fromBackend('/tenant/a/x/y/'), 'x/y');
    assert.equal(space.fromBackend('tenant/a'), '');
    assert.equal(space.fromBackend('tenant/ab/x'), undefined);
    assert.throws(() => new KeySpace('a/../b'), /not a valid path/);
    assert.throws(() => space.toBackend('../b'), /segment/);
  });
});

describe('codecs', () => {
  it('utf8 passes strings, rejects other types and lone surrogates', () => {
    assert.equal(utf8Codec.encode('héllo'), 'héllo');
    assert.equal(utf8Codec.decode(new TextEncoder().encode('héllo')), 'héllo');
    assert.throws(() => utf8Codec.encode(5 as unknown as string), /must be a string/);
    assert.throws(() => utf8Codec.encode('\udc00'), /surrogate/);
  });

  it('binary keeps bytes, json round-trips and hands non-JSON text over as a string', () => {
    const bytes = new Uint8Array([0, 255, 128]);
    assert.equal(binaryCodec.encode(bytes), bytes);
    assert.throws(() => binaryCodec.encode('x' as unknown as Uint8Array), /Uint8Array/);
    assert.deepEqual(jsonCodec.decode(jsonCodec.encode({ a: [1, null] }) as string), { a: [1, null] });
    assert.equal(jsonCodec.decode('plain text'), 'plain text');
    assert.throws(() => jsonCodec.encode(undefined), /no JSON form/);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    assert.throws(() => jsonCodec.encode(cyclic), /cannot be serialized/);
    assert.equal(sameRaw('abc', new TextEncoder().encode('abc')), true);
    assert.equal(sameRaw(new Uint8Array([1]), new Uint8Array([2])), false);
  });

  it('text codecs decode strictly: bytes that are not UTF-8 are UNREPRESENTABLE, never U+FFFD', () => {
    const bad = new Uint8Array([0xff, 0xfe, 0x61]);
    for (const codec of [utf8Codec, jsonCodec]) {
      assert.throws(
        () => codec.decode(bad),
        (error: unknown) =>
          isPolykvError(error) && error.code === 'UNREPRESENTABLE' && error.key === undefined,
      );
      assert.throws(
        () => decodeValue(codec, bad, 'a/b'),
        (error: unknown) => isPolykvError(error) && error.code === 'UNREPRESENTABLE' && error.key === 'a/b',
      );
    }
    // U+FFFD written as text is text: only undecodable bytes are refused.
    assert.equal(utf8Codec.decode(new Uint8Array([0xef, 0xbf, 0xbd])), '\ufffd');
    // The binary codec never reinterprets: text is its own UTF-8 bytes (no base64 decoding).
    assert.deepEqual(binaryCodec.decode('AAH/QQ=='), new TextEncoder().encode('AAH/QQ=='));
  });

  it('checkFlags: 0 to 2^64 - 1, numbers only while exact', () => {
    assert.equal(checkFlags(undefined), 0n);
    assert.equal(checkFlags(42), 42n);
    assert.equal(checkFlags((1n << 64n) - 1n), (1n << 64n) - 1n);
    for (const bad of [-1, 1.5, 2 ** 53, 1n << 64n, -1n, '1', null])
      assert.throws(
        () => checkFlags(bad),
        (error: unknown) => isPolykvError(error) && error.code === 'INVALID_ARGUMENT',
      );
  });
});

describe('signals and backoff', () => {
  it('deadline reports TIMEOUT for its own timer and ABORTED (with the reason) for the caller', async () => {
    const timed = deadline(undefined, 20);
    await new Promise((resolve) => timed.signal!.addEventListener('abort', resolve));
    assert.equal(timed.error().code, 'TIMEOUT');
    timed.dispose();

    const controller = new AbortController();
    const caller = deadline(controller.signal, 10_000);
    const reason = new Error('user stop');
    controller.abort(reason);
    assert.equal(caller.signal!.aborted, true);
    const error = caller.error();
    assert.equal(error.code, 'ABORTED');
    assert.equal(error.cause, reason);
    caller.dispose();

    assert.equal(
      deadline(undefined, undefined).signal,
      undefined,
      'no timer and no signal: nothing to wait on',
    );
  });

  it('sleep rejects with ABORTED when aborted; backoff is capped and jittered', async () => {
    const controller = new AbortController();
    const pending = sleep(10_000, controller.signal);
    controller.abort();
    await assert.rejects(pending, (error: unknown) => isPolykvError(error) && error.code === 'ABORTED');
    assert.equal(
      backoffDelay(0, 100, 1000, () => 0),
      50,
    );
    assert.equal(
      backoffDelay(0, 100, 1000, () => 1),
      100,
    );
    assert.equal(
      backoffDelay(50, 100, 1000, () => 1),
      1000,
    );
    assert.ok(backoffDelay(3, 100, 10_000, () => 0.5) <= 800);
  });
});

describe('one signal shared by many calls', () => {
  it('adds no listener per call, so no MaxListenersExceededWarning', async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const controller = new AbortController();
    const bounds = Array.from({ length: 50 }, (_, i) =>
      deadline(controller.signal, i % 2 === 0 ? undefined : 10_000),
    );
    await new Promise((resolve) => setImmediate(resolve));
    controller.abort(new Error('stop all'));
    assert.ok(bounds.every((bound) => bound.signal!.aborted && bound.error().code === 'ABORTED'));
    for (const bound of bounds) bound.dispose();
    await new Promise((resolve) => setImmediate(resolve));
    process.off('warning', onWarning);
    assert.deepEqual(warnings, []);
  });

  it('a settled call stops following the signal: it keeps one listener, however many calls', () => {
    const controller = new AbortController();
    const settled = Array.from({ length: 50 }, () => deadline(controller.signal, 10_000));
    for (const bound of settled) bound.dispose();
    const running = deadline(controller.signal, 10_000);
    assert.equal(getEventListeners(controller.signal, 'abort').length, 1);
    controller.abort(new Error('stop'));
    assert.ok(running.signal!.aborted, 'a running call still follows it');
    assert.ok(
      settled.every((bound) => !bound.signal!.aborted),
      'a settled call no longer follows it',
    );
    running.dispose();
  });

  it('follow and anySignal: abort with the source, at once when it had already; dispose stops', () => {
    const source = new AbortController();
    const early = new AbortController();
    early.abort('early');
    const combined = anySignal([source.signal, early.signal]);
    assert.equal(combined.signal.reason, 'early');
    combined.dispose();
    const follower = new AbortController();
    const unfollow = follow(source.signal, follower);
    const other = anySignal([source.signal]);
    other.dispose();
    source.abort('late');
    assert.equal(follower.signal.reason, 'late');
    assert.equal(other.signal.aborted, false);
    unfollow();
  });
});

describe('extend: a spread for option bags made per call', () => {
  it('gives what { ...base, ...extra, ...more } gives: the same keys, values and order', () => {
    const signal = new AbortController().signal;
    const base = { timeout: 5, consistent: false, signal };
    const cases: [object | undefined, object, object][] = [
      [base, { consistent: true }, {}],
      [base, {}, { index: 7, timeout: 0 }],
      [undefined, { recurse: true }, { cas: 0 }],
      [{ a: undefined }, { b: 1 }, { a: 2 }],
      [{ [Symbol.for('s')]: 1, z: 1 }, { y: 2 }, { x: 3 }],
    ];
    for (const [a, b, c] of cases) {
      const got = extend(a, b, c);
      const spread = { ...a, ...b, ...c };
      assert.deepEqual(got, spread);
      assert.deepEqual(Reflect.ownKeys(got), Reflect.ownKeys(spread), 'the same order');
      assert.notEqual(got, a, 'a new object');
    }
    assert.deepEqual(extend(base, { timeout: 1 }), { ...base, timeout: 1 });
  });
});

describe('timers longer than setTimeout can wait', () => {
  it('a memory:// key with a 30-day TTL stays, and its expiresAt is 30 days out', async () => {
    const { createMemoryStore } = await import('@polykv/core');
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(warning.name);
    process.on('warning', onWarning);
    const store = createMemoryStore();
    const entry = await store.set('k', 'v', { ttl: 30 * 86_400 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal((await store.get('k'))?.value, 'v');
    assert.ok(entry.expiresAt!.getTime() - Date.now() > 29 * 86_400_000);
    const lock = await store.lock('long', { ttl: 40 * 86_400 });
    await new Promise((resolve) => setTimeout(resolve, 100));
    assert.equal(lock.held, true);
    await lock.release();
    await store.close();
    process.off('warning', onWarning);
    assert.deepEqual(warnings, [], 'no TimeoutOverflowWarning');
  });
});
