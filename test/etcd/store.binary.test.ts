import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { binaryCodec, isPolykvError, jsonCodec, openStore, type PolykvErrorCode } from '@polykv/core';
import { createEtcdStore, EtcdClient, isEtcdError } from '@polykv/etcd';
import { stopAllServers } from '../helpers/processes.js';
import { startEtcd, type EtcdMember } from '../helpers/servers.js';

after(stopAllServers);

function hasCode(code: PolykvErrorCode): (error: unknown) => boolean {
  return (error) => {
    assert.ok(isPolykvError(error), String(error));
    assert.equal(error.code, code, error.message);
    return true;
  };
}

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const NOT_UTF8 = new Uint8Array([0xff, 0xfe, 0x00, 0x01, 0x61, 0x62, 0x63]);

/**
 * etcd v2 holds text, and other tools (etcdctl) read and write that text (issue 12.3): text is
 * stored and read as its own bytes, never reinterpreted; bytes that are not UTF-8 are refused unless
 * the store opted into base64, whose values carry a marker a reader can tell from anyone's text.
 */
describe('etcd Store: values as text, bytes only by opt-in', () => {
  let member: EtcdMember;
  let etcd: EtcdClient;

  before(async () => {
    member = await startEtcd();
    etcd = new EtcdClient({ hosts: member.host });
  });
  after(async () => {
    await etcd?.close();
  });

  it('text written by another tool reads as its own bytes with binaryCodec (no base64 decoding)', async () => {
    await etcd.keys.set('t/hello', 'hello world');
    await etcd.keys.set('t/looks-base64', 'AAH/QQ==');
    const store = createEtcdStore({ hosts: member.host, codec: binaryCodec });
    const encoded = createEtcdStore({ hosts: member.host, codec: binaryCodec, binaryEncoding: 'base64' });
    try {
      for (const reader of [store, encoded]) {
        assert.deepEqual((await reader.get('t/hello'))?.value, text('hello world'));
        assert.deepEqual((await reader.get('t/looks-base64'))?.value, text('AAH/QQ=='));
      }
      // UTF-8 bytes are stored as that text, so etcdctl sees it.
      await store.set('t/written', text('héllo ✓'));
      assert.equal((await etcd.keys.get('t/written')).node.value, 'héllo ✓');
      assert.deepEqual((await store.get('t/written'))?.value, text('héllo ✓'));
    } finally {
      await store.close();
      await encoded.close();
    }
  });

  it('bytes that are not UTF-8 are refused without the opt-in, and nothing is written', async () => {
    const store = createEtcdStore({ hosts: member.host, codec: binaryCodec, prefix: 'refused' });
    try {
      assert.equal(store.capabilities.binaryValues, false);
      await assert.rejects(store.set('k', NOT_UTF8), (error: unknown) => {
        hasCode('UNREPRESENTABLE')(error);
        assert.equal((error as { what: string }).what, 'value');
        assert.equal((error as { key: string }).key, 'k');
        assert.match((error as Error).message, /binaryEncoding/);
        return true;
      });
      await assert.rejects(
        store.compareAndSwap('k', NOT_UTF8, { prevExist: false }),
        hasCode('UNREPRESENTABLE'),
      );
      await assert.rejects(store.push('q', NOT_UTF8), hasCode('UNREPRESENTABLE'));
      assert.deepEqual(await store.list('', { recursive: true }), []);
    } finally {
      await store.close();
    }
  });

  it("with binaryEncoding 'base64': marked values round-trip, other text stays text", async () => {
    const store = createEtcdStore({
      hosts: member.host,
      codec: binaryCodec,
      prefix: 'encoded',
      binaryEncoding: 'base64',
    });
    const plain = createEtcdStore({ hosts: member.host, prefix: 'encoded' });
    try {
      await store.set('bin', NOT_UTF8);
      assert.equal((await etcd.keys.get('encoded/bin')).node.value, 'polykv:base64://4AAWFiYw==');
      assert.deepEqual((await store.get('bin'))?.value, NOT_UTF8);
      // A text that starts with the marker is stored encoded too, so it reads back as itself.
      const tricky = text('polykv:base64:AAAA');
      await store.set('tricky', tricky);
      assert.notEqual((await etcd.keys.get('encoded/tricky')).node.value, 'polykv:base64:AAAA');
      assert.deepEqual((await store.get('tricky'))?.value, tricky);
      await store.compareAndSwap('bin', text('next'), { prevValue: NOT_UTF8 });
      assert.equal((await etcd.keys.get('encoded/bin')).node.value, 'next');
      // Without the opt-in, the marker means nothing: the text is read as it is.
      assert.equal((await plain.get('tricky'))?.value.startsWith('polykv:base64:'), true);
      // Marked text that is not base64 (another tool's) is text.
      await etcd.keys.set('encoded/other', 'polykv:base64:not base64!');
      assert.deepEqual((await store.get('other'))?.value, text('polykv:base64:not base64!'));
    } finally {
      await store.close();
      await plain.close();
    }
  });

  it('text codecs: a marked value is decoded only with the opt-in; bytes that are not UTF-8 are UNREPRESENTABLE', async () => {
    const writer = createEtcdStore({
      hosts: member.host,
      codec: binaryCodec,
      prefix: 'codecs',
      binaryEncoding: 'base64',
    });
    const reader = createEtcdStore({ hosts: member.host, prefix: 'codecs', binaryEncoding: 'base64' });
    const json = createEtcdStore({
      hosts: member.host,
      prefix: 'codecs',
      codec: jsonCodec,
      binaryEncoding: 'base64',
    });
    try {
      await writer.set('bin', NOT_UTF8);
      await assert.rejects(reader.get('bin'), hasCode('UNREPRESENTABLE'));
      await assert.rejects(json.get('bin'), hasCode('UNREPRESENTABLE'));
      await assert.rejects(reader.list(''), hasCode('UNREPRESENTABLE'));
      await reader.set('marked', 'polykv:base64:xyz');
      assert.equal((await reader.get('marked'))?.value, 'polykv:base64:xyz');
    } finally {
      await writer.close();
      await reader.close();
      await json.close();
    }
  });

  it('?binaryEncoding=base64 in the URL; any other value is INVALID_ARGUMENT', async () => {
    const store = await openStore(`etcd://${member.host}/url?binaryEncoding=base64`, { codec: binaryCodec });
    try {
      await store.set('bin', NOT_UTF8);
      assert.deepEqual((await store.get('bin'))?.value, NOT_UTF8);
    } finally {
      await store.close();
    }
    await assert.rejects(
      openStore(`etcd://${member.host}/url?binaryEncoding=hex`),
      hasCode('INVALID_ARGUMENT'),
    );
  });

  it('flags are NOT_SUPPORTED (nothing written); unlisted is []; hidden _ keys are not enumerable', async () => {
    const store = createEtcdStore({ hosts: member.host, prefix: 'flags' });
    try {
      assert.equal(store.capabilities.flags, false);
      await assert.rejects(store.set('k', 'v', { flags: 1 }), hasCode('NOT_SUPPORTED'));
      await assert.rejects(store.push('q', 'v', { flags: 1n }), hasCode('NOT_SUPPORTED'));
      await store.set('zero', 'v', { flags: 0 });
      assert.equal(await store.get('k'), null);
      await etcd.keys.set('flags/_hidden', 'by another tool');
      assert.deepEqual(await store.unlisted(''), []);
      assert.deepEqual(
        (await store.list('', { recursive: true })).map((entry) => entry.key),
        ['zero'],
        'etcd v2 leaves _ nodes out of every listing',
      );
      assert.equal((await store.get('_hidden'))?.value, 'by another tool');
    } finally {
      await store.close();
    }
  });

  it('the lock queue folder and .polykv are removed after release when nobody waits', async () => {
    const store = createEtcdStore({ hosts: member.host, prefix: 'locks' });
    try {
      const lock = await store.lock('a/job', { ttl: 5 });
      await lock.release();
      await assert.rejects(etcd.keys.get('locks/.polykv'), (error: unknown) => isEtcdError(error));
      const first = await store.lock('job', { ttl: 5 });
      const waiting = store.lock('job', { ttl: 5, wait: 10_000 });
      await new Promise((resolve) => setTimeout(resolve, 300));
      await first.release();
      const second = await waiting;
      assert.equal((await etcd.keys.get('locks/.polykv/locks/job')).node.nodes?.length, 1);
      await second.release();
      await assert.rejects(etcd.keys.get('locks/.polykv'), (error: unknown) => isEtcdError(error));
    } finally {
      await store.close();
    }
  });
});
