import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { binaryCodec, isPolykvError, openStore, type PolykvErrorCode, type Store } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { caught, freshPrefix, hasCode, startBackends, type Backend } from './backends.js';

// Issue 8, "Bad input": one table per kind of input, run against every backend (memory://, a real
// etcd member, a real Consul dev agent). Each row gives the documented result or a typed error, and
// a rejected call writes nothing. The conformance suite already checks a few of these rows on each
// store; the tables here go through every operation and the limits (4 KiB keys, 512 KiB, 10 MB).

after(stopAllServers);

let backends: Backend[] = [];
before(async () => {
  backends = await startBackends();
});

const KiB = 1024;

/** Valid keys and the key each one is stored as. */
const GOOD_KEYS: [key: string, stored: string][] = [
  ['/leading', 'leading'],
  ['trailing/', 'trailing'],
  ['/both/', 'both'],
  [' ', ' '],
  ['with space', 'with space'],
  ['enc%2Fslash', 'enc%2Fslash'],
  ['%2e%2e', '%2e%2e'],
  ['q?x=1&y', 'q?x=1&y'],
  ['hash#frag', 'hash#frag'],
  ['...', '...'],
  ['.hidden/x', '.hidden/x'],
  ['ünïcødé/日本語', 'ünïcødé/日本語'],
  ['emoji/🔑🚀', 'emoji/🔑🚀'],
  ['x'.repeat(4096), 'x'.repeat(4096)],
  ['é'.repeat(2048), 'é'.repeat(2048)],
  ['🔑'.repeat(1024), '🔑'.repeat(1024)],
];

/** Invalid keys: every operation rejects them with INVALID_ARGUMENT. */
const BAD_KEYS: [key: unknown, why: string][] = [
  ['', 'empty'],
  ['/', 'root only'],
  ['.', 'dot'],
  ['..', 'dot-dot'],
  ['//', 'double slash'],
  ['//lead', 'two leading slashes'],
  ['trail//', 'two trailing slashes'],
  ['a//b', 'empty segment'],
  ['a/./b', 'dot segment'],
  ['a/../b', 'dot-dot segment'],
  ['../escape', 'leading dot-dot'],
  ['tab\there', 'control character (tab)'],
  ['nl\n', 'control character (newline)'],
  ['nul\u0000', 'NUL'],
  ['del\u007f', 'DEL'],
  ['c1\u0085', 'C1 control'],
  ['lone\ud800', 'lone surrogate'],
  ['x'.repeat(4097), '4097 bytes'],
  ['é'.repeat(2048) + 'x', '4097 bytes of UTF-8'],
  ['.polykv/locks/x', 'reserved space'],
  [42, 'not a string'],
  [null, 'null'],
];

function describeKey(key: unknown): string {
  const text = typeof key === 'string' ? JSON.stringify(key) : String(key);
  return text.length > 40 ? `${text.slice(0, 37)}...` : text;
}

async function expectEmpty(store: Store<unknown>, what: string): Promise<void> {
  assert.deepEqual(await store.list('', { recursive: true }), [], `${what}: nothing was written`);
}

async function expectInvalid(what: string, fn: () => unknown): Promise<void> {
  const error = await caught(fn);
  assert.ok(error !== undefined, `${what}: should reject`);
  hasCode('INVALID_ARGUMENT')(error);
}

function forEachBackend(title: string, fn: (backend: Backend) => Promise<void>, timeout = 60_000): void {
  for (const name of ['memory', 'etcd', 'etcd3', 'consul'] as const) {
    it(`${name}: ${title}`, { timeout }, async () => {
      const backend = backends.find((b) => b.name === name)!;
      await fn(backend);
    });
  }
}

describe('bad input: keys', () => {
  forEachBackend(
    'valid keys round-trip as documented (slashes trimmed, the rest kept byte for byte)',
    async ({ open }) => {
      const store = open(freshPrefix('bad-input'));
      try {
        for (const [key, stored] of GOOD_KEYS) {
          const entry = await store.set(key, `v:${stored}`);
          assert.equal(entry.key, stored, describeKey(key));
          assert.equal((await store.get(stored))?.value, `v:${stored}`, describeKey(key));
          assert.equal((await store.get(key))?.key, stored, describeKey(key));
        }
        const listed = (await store.list('', { recursive: true })).filter((e) => !e.dir).map((e) => e.key);
        const expected = [...new Set(GOOD_KEYS.map(([, stored]) => stored))];
        assert.deepEqual(listed.sort(), expected.sort(), 'list shows every key once, %2F is no directory');
        // An encoded slash names one key, not a directory.
        assert.deepEqual(await store.list('enc'), []);
        for (const [, stored] of GOOD_KEYS) assert.equal(await store.del(stored), true, describeKey(stored));
        const left = (await store.list('', { recursive: true })).filter((e) => !e.dir);
        assert.deepEqual(left, [], 'no value is left after deleting every key');
      } finally {
        await store.del('', { recursive: true }).catch(() => undefined);
        await store.close();
      }
    },
  );

  forEachBackend(
    'invalid keys: every operation rejects with INVALID_ARGUMENT and writes nothing',
    async ({ open }) => {
      const store = open(freshPrefix('bad-input'));
      try {
        for (const [key, why] of BAD_KEYS) {
          const k = key as string;
          const what = `${why} ${describeKey(key)}`;
          await expectInvalid(`set ${what}`, () => store.set(k, 'v'));
          await expectInvalid(`get ${what}`, () => store.get(k));
          await expectInvalid(`compareAndSwap ${what}`, () =>
            store.compareAndSwap(k, 'v', { prevExist: false }),
          );
          await expectInvalid(`compareAndDelete ${what}`, () =>
            store.compareAndDelete(k, { prevValue: 'v' }),
          );
          await expectInvalid(`mkdir ${what}`, () => store.mkdir(k));
          await expectInvalid(`push ${what}`, () => store.push(k, 'v'));
          await expectInvalid(`lock ${what}`, () => store.lock(k, { wait: 0 }));
          if (k !== '' && k !== '/' && k !== '//') {
            // '', '/' and '//' (one leading and one trailing slash trimmed) are the root: valid for
            // list, watch and a recursive del.
            await expectInvalid(`del ${what}`, () => store.del(k, { recursive: true }));
            await expectInvalid(`list ${what}`, () => store.list(k));
            await expectInvalid(`watch ${what}`, () => store.watch(k));
          } else {
            await expectInvalid(`del (not recursive) ${what}`, () => store.del(k));
          }
        }
        await expectEmpty(store, 'after every invalid key');
      } finally {
        await store.close();
      }
    },
  );
});

describe('bad input: keys etcd v2 would hide', () => {
  // etcd v2 leaves nodes named `_...` out of listings and recursive watches: the etcd store refuses
  // to create them (they would vanish from list, watch, copy and mirror); the other backends list them.
  const HIDDEN = ['_x', '_dir/x', 'a/_b', 'a/_b/c', '__'];
  forEachBackend('a segment starting with "_"', async ({ name, open }) => {
    const store = open(freshPrefix('bad-input'));
    try {
      for (const key of HIDDEN) {
        if (name === 'etcd') {
          await expectInvalid(`set ${key}`, () => store.set(key, 'v'));
          await expectInvalid(`compareAndSwap ${key}`, () =>
            store.compareAndSwap(key, 'v', { prevExist: false }),
          );
          await expectInvalid(`mkdir ${key}`, () => store.mkdir(key));
          await expectInvalid(`push ${key}`, () => store.push(key, 'v'));
          assert.equal(await store.get(key), null);
        } else {
          await store.set(key === 'a/_b' ? 'a/_b2' : key, 'v');
        }
      }
      if (name === 'etcd') {
        await expectEmpty(store, 'after every refused key');
        // Keys that merely contain `_` are ordinary.
        await store.set('a_b/c_', 'v');
        assert.deepEqual(
          (await store.list('', { recursive: true })).filter((e) => !e.dir).map((e) => e.key),
          ['a_b/c_'],
        );
      } else {
        const listed = (await store.list('', { recursive: true })).filter((e) => !e.dir).map((e) => e.key);
        assert.deepEqual(listed.sort(), ['_x', '_dir/x', 'a/_b2', 'a/_b/c', '__'].sort());
      }
    } finally {
      await store.del('', { recursive: true }).catch(() => undefined);
      await store.close();
    }
  });
});

describe('bad input: values', () => {
  forEachBackend(
    'empty, binary and limit-sized values; too large is VALUE_TOO_LARGE and writes nothing',
    async ({ name, open }) => {
      const prefix = freshPrefix('bad-input');
      const text = open(prefix);
      const bytes = open(prefix, binaryCodec);
      try {
        await text.set('empty', '');
        assert.equal((await text.get('empty'))?.value, '');
        const all = new Uint8Array(256).map((_, i) => i);
        await bytes.set('binary', all);
        assert.deepEqual((await bytes.get('binary'))?.value, all);
        await bytes.set('no-bytes', new Uint8Array(0));
        assert.deepEqual((await bytes.get('no-bytes'))?.value, new Uint8Array(0));

        // Consul's kv_max_value_size is 512 KiB: exactly that is fine everywhere.
        const limit = new Uint8Array(512 * KiB).fill(0xab);
        await bytes.set('at-limit', limit);
        assert.equal((await bytes.get('at-limit'))?.value.byteLength, 512 * KiB);

        const over = 'y'.repeat(512 * KiB + 1);
        if (name === 'consul') {
          await assert.rejects(text.set('over', over), (error: unknown) => {
            hasCode('VALUE_TOO_LARGE')(error);
            assert.equal((error as { size?: number }).size, 512 * KiB + 1);
            assert.equal((error as { limit?: number }).limit, 512 * KiB);
            return true;
          });
          await assert.rejects(
            text.compareAndSwap('over', over, { prevExist: false }),
            hasCode('VALUE_TOO_LARGE'),
          );
          await assert.rejects(text.push('queue', over), hasCode('VALUE_TOO_LARGE'));
          assert.equal(await text.get('over'), null, 'the rejected value was not written');
        } else {
          await text.set('over', over);
          assert.equal((await text.get('over'))?.value.length, 512 * KiB + 1);
        }

        const tenMb = 'z'.repeat(10 * KiB * KiB);
        if (name === 'memory') {
          await text.set('ten-mb', tenMb);
          assert.equal((await text.get('ten-mb'))?.value.length, tenMb.length);
        } else {
          // Consul: over 512 KiB. etcd v2: the form body is over Go's 10 MB form limit (etcd answers
          // error 210, "Invalid POST form"), which maps to INVALID_ARGUMENT.
          await assert.rejects(text.set('ten-mb', tenMb), hasCode('VALUE_TOO_LARGE', 'INVALID_ARGUMENT'));
          assert.equal(await text.get('ten-mb'), null, 'the rejected value was not written');
        }

        // Values the codec cannot encode.
        await expectInvalid('a number with the utf8 codec', () => text.set('wrong', 42 as unknown as string));
        await expectInvalid('a lone surrogate', () => text.set('wrong', 'x\udc00'));
        await expectInvalid('a string with the binary codec', () => bytes.set('wrong', 'text' as never));
        assert.equal(await text.get('wrong'), null);
      } finally {
        await text.del('', { recursive: true }).catch(() => undefined);
        await Promise.all([text.close(), bytes.close()]);
      }
    },
    120_000,
  );
});

describe('bad input: TTLs', () => {
  const BAD_TTLS: unknown[] = [0, -1, 0.5, 1.5, Number.NaN, Infinity, -Infinity, 2 ** 31, 2 ** 53, '5', null];

  forEachBackend(
    'bad TTLs reject with INVALID_ARGUMENT on every operation that takes one, writing nothing',
    async ({ name, open }) => {
      const store = open(freshPrefix('bad-input'));
      try {
        for (const ttl of BAD_TTLS) {
          const options = { ttl: ttl as number };
          const what = `ttl ${String(ttl)}`;
          await expectInvalid(`set ${what}`, () => store.set('k', 'v', options));
          await expectInvalid(`compareAndSwap ${what}`, () =>
            store.compareAndSwap('k', 'v', { prevExist: false }, options),
          );
          await expectInvalid(`push ${what}`, () => store.push('q', 'v', options));
          // A null lock ttl means the default, as undefined does.
          if (ttl !== null)
            await expectInvalid(`lock ${what}`, () => store.lock('l', { ttl: ttl as number, wait: 0 }));
          if (name !== 'consul') await expectInvalid(`mkdir ${what}`, () => store.mkdir('d', options));
        }
        // Below the backend's minimum.
        if (store.capabilities.minTtl > 1)
          await expectInvalid('ttl below minTtl', () =>
            store.set('k', 'v', { ttl: store.capabilities.minTtl - 1 }),
          );
        // Above Consul's 24 h session limit: a typed error there, a plain TTL elsewhere.
        if (name === 'consul') {
          await expectInvalid('ttl above 24 h', () => store.set('k', 'v', { ttl: 86_401 }));
          await assert.rejects(store.mkdir('d', { ttl: 60 }), hasCode('NOT_SUPPORTED'));
        } else {
          const entry = await store.set('long', 'v', { ttl: 86_401 });
          assert.ok(entry.expiresAt && entry.expiresAt.getTime() > Date.now() + 86_000_000);
          assert.equal((await store.get('long'))?.value, 'v');
          assert.equal(await store.del('long'), true);
        }
        await expectEmpty(store, 'after every bad TTL');
      } finally {
        await store.close();
      }
    },
  );
});

describe('bad input: options of the wrong type', () => {
  forEachBackend('wrong option types reject with INVALID_ARGUMENT and write nothing', async ({ open }) => {
    const store = open(freshPrefix('bad-input'));
    try {
      const wrong: [string, () => unknown][] = [
        ['options is a string', () => store.set('k', 'v', 'ttl' as never)],
        ['options is a number', () => store.get('k', 5 as never)],
        ['signal is a string', () => store.set('k', 'v', { signal: 'stop' as never })],
        ['signal is a plain object', () => store.get('k', { signal: { aborted: false } as never })],
        ['timeout is negative', () => store.get('k', { timeout: -1 })],
        ['timeout is a string', () => store.set('k', 'v', { timeout: '100' as never })],
        ['timeout is NaN', () => store.del('k', { timeout: Number.NaN })],
        ['prevIndex is negative', () => store.compareAndSwap('k', 'v', { prevIndex: -1 })],
        ['prevIndex is fractional', () => store.compareAndDelete('k', { prevIndex: 1.5 })],
        ['prevIndex is a string', () => store.compareAndSwap('k', 'v', { prevIndex: '3' as never })],
        ['prevExist is true', () => store.compareAndSwap('k', 'v', { prevExist: true as never })],
        ['two conditions', () => store.compareAndSwap('k', 'v', { prevIndex: 1, prevValue: 'v' })],
        ['no condition', () => store.compareAndSwap('k', 'v', {} as never)],
        ['condition is null', () => store.compareAndDelete('k', null as never)],
        ['fromIndex is negative', () => store.watch('k', { fromIndex: -1 })],
        ['fromIndex is a string', () => store.watch('k', { fromIndex: '1' as never })],
        ['watch options is a string', () => store.watch('k', 'recursive' as never)],
        ['lock ttl is a string', () => store.lock('l', { ttl: '15' as never, wait: 0 })],
        ['list options is a string', () => store.list('', 'recursive' as never)],
      ];
      for (const [what, fn] of wrong) await expectInvalid(what, fn);
      await expectEmpty(store, 'after every wrong option');
    } finally {
      await store.close();
    }
  });
});

describe('bad input: store URLs', () => {
  const BAD_URLS: [url: unknown, why: string][] = [
    ['etcd://', 'no host'],
    ['etcd:///prefix', 'no host, a prefix'],
    ['consul://:8500', 'empty host name'],
    ['etcd://127.0.0.1:99999', 'port out of range'],
    ['etcd://127.0.0.1:0', 'port 0'],
    ['consul://127.0.0.1:abc', 'port not a number'],
    ['etcd://127.0.0.1:-1', 'negative port'],
    ['consul://bad_host!:8500', 'bad host name'],
    ['etcd://[::1:2379', 'unclosed IPv6 bracket'],
    ['redis://127.0.0.1:6379', 'unknown scheme'],
    ['http://127.0.0.1:2379', 'http is not a store scheme'],
    ['etcd:127.0.0.1:2379', 'no //'],
    ['127.0.0.1:2379', 'no scheme'],
    ['', 'empty'],
    [42, 'not a string'],
    ['etcd://127.0.0.1:2379/a/../b', 'prefix with ..'],
    ['etcd://127.0.0.1:2379/a%2F..%2Fb', 'prefix with an encoded ..'],
    ['consul://127.0.0.1:8500/a//b', 'prefix with an empty segment'],
    ['consul://127.0.0.1:8500/p%ZZ', 'bad percent-encoding'],
    ['consul://127.0.0.1:8500/p#frag', 'a fragment'],
    ['etcd://127.0.0.1:2379/p?bogus=1', 'unknown parameter'],
    ['etcd3://', 'etcd3: no host'],
    ['etcd3://127.0.0.1:2379/p?bogus=1', 'etcd3: unknown parameter'],
    ['etcd3s://127.0.0.1:2379/a/../b', 'etcd3s: prefix with ..'],
    ['consul://127.0.0.1:8500/p?timeout=-5', 'negative timeout'],
    ['etcd://127.0.0.1:2379/p?maxRetries=many', 'maxRetries not a number'],
    ['memory://a,b', 'two memory names'],
    ['memory://bad name', 'memory name with a space'],
  ];

  it('malformed URLs reject with INVALID_ARGUMENT, before any connection', async () => {
    for (const [url, why] of BAD_URLS) {
      const error = await caught(() => openStore(url as string));
      assert.ok(error !== undefined, `${why}: ${String(url)} should be refused`);
      hasCode('INVALID_ARGUMENT')(error);
      assert.equal((error as { argument?: string }).argument, 'url', why);
    }
  });

  it('credentials and tokens in a URL are accepted but never echoed in an error', async () => {
    const secrets: [url: string, secret: string][] = [
      ['etcd://user:s3cr3t-pw@127.0.0.1:99999/p', 's3cr3t-pw'],
      ['consul://user:s3cr3t-pw@bad_host!:8500/p', 's3cr3t-pw'],
      ['consul://127.0.0.1:8500/p?token=t0ken-s3cr3t&bogus=1', 't0ken-s3cr3t'],
      ['consul://127.0.0.1:8500/p%ZZ?token=t0ken-s3cr3t', 't0ken-s3cr3t'],
      ['etcds://admin:p%40ss-s3cr3t@127.0.0.1:2379/a/../b', 'p%40ss-s3cr3t'],
    ];
    for (const [url, secret] of secrets) {
      const error = await caught(() => openStore(url));
      hasCode('INVALID_ARGUMENT')(error);
      const text = `${(error as Error).message} ${String((error as Error).stack)}`;
      assert.ok(!text.includes(secret), `the error for ${url.replace(secret, '***')} leaks the secret`);
      assert.ok(!text.includes(decodeURIComponent(secret)), 'nor its decoded form');
    }
    // Well-formed URLs with credentials open (the client is lazy: no connection is made).
    for (const url of ['etcd://user:pw@127.0.0.1:2379/p', 'consul://127.0.0.1:8500/p?token=abc&dc=dc1']) {
      const store = await openStore(url);
      assert.equal(store.prefix, 'p');
      await store.close();
    }
  });

  it('a URL prefix is validated like a key and scopes the store', async () => {
    const store = await openStore('memory://url-prefix/a%20b/c');
    try {
      assert.equal(store.prefix, 'a b/c');
      await store.set('k', 'v');
      const root = await openStore('memory://url-prefix');
      assert.deepEqual(
        (await root.list('', { recursive: true })).filter((e) => !e.dir).map((e) => e.key),
        ['a b/c/k'],
      );
      await root.close();
    } finally {
      await store.close();
    }
  });
});

describe('bad input: wrong store options', () => {
  it('a prefix that is not a path is refused by every factory', async () => {
    for (const backend of backends) {
      for (const prefix of ['..', 'a/../b', 'a//b', 'x\u0001']) {
        const error = await caught(() => backend.open(prefix));
        assert.ok(isPolykvError(error), `${backend.name} prefix ${JSON.stringify(prefix)}`);
        assert.equal(error.code, 'INVALID_ARGUMENT' satisfies PolykvErrorCode);
      }
    }
  });
});
