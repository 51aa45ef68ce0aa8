import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isPolykvError, openStore, parseStoreUrl, type Store } from '@polykv/core';

function rejectsInvalid(url: unknown, mentions: RegExp, secret?: string): void {
  assert.throws(
    () => parseStoreUrl(url),
    (error: unknown) => {
      assert.ok(isPolykvError(error));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, mentions);
      if (secret) assert.equal(error.message.includes(secret), false, `message must not echo ${secret}`);
      return true;
    },
  );
}

describe('store URLs', () => {
  it('parses several etcd hosts, a prefix and TLS', () => {
    const url = parseStoreUrl('etcds://h1:2379,10.0.0.2,[::1]:4001/app/config/');
    assert.equal(url.scheme, 'etcds');
    assert.equal(url.tls, true);
    assert.deepEqual(url.hosts, [
      { host: 'h1', port: 2379 },
      { host: '10.0.0.2', port: undefined },
      { host: '[::1]', port: 4001 },
    ]);
    assert.equal(url.prefix, 'app/config');
  });

  it('parses consul with a datacenter and credentials, and masks secrets in `redacted`', () => {
    const url = parseStoreUrl('consul://user:p%40ss@consul.local:8500/svc?dc=dc1&token=abc123');
    assert.equal(url.username, 'user');
    assert.equal(url.password, 'p@ss');
    assert.equal(url.params.get('dc'), 'dc1');
    assert.equal(url.params.get('token'), 'abc123');
    assert.equal(url.redacted.includes('p%40ss'), false);
    assert.equal(url.redacted.includes('abc123'), false);
    assert.match(url.redacted, /user:\*\*\*@consul\.local:8500\/svc\?dc=dc1&token=\*\*\*/);
  });

  it('decodes the prefix per segment: spaces and unicode', () => {
    assert.equal(parseStoreUrl('memory:///my%20app/%C3%BC').prefix, 'my app/ü');
    assert.equal(parseStoreUrl('memory://').prefix, '');
  });

  it('rejects malformed URLs naming the bad part, never echoing a password or token', () => {
    rejectsInvalid(42, /must be a string/);
    rejectsInvalid('127.0.0.1:2379', /no scheme/);
    rejectsInvalid('etcd://', /no host/);
    rejectsInvalid('etcd:///prefix', /no host/);
    rejectsInvalid('etcd://h1:99999', /port "99999"/);
    rejectsInvalid('etcd://h1:abc', /port "abc"/);
    rejectsInvalid('etcd://h1:2379,', /host is empty/);
    rejectsInvalid('etcd://bad_host!:2379', /not a valid host/);
    rejectsInvalid('consul://admin:hunter2@:8500', /host is empty/, 'hunter2');
    rejectsInvalid('consul://admin:hunter2@h1:0', /port "0"/, 'hunter2');
    rejectsInvalid('consul://h1/../escape?token=s3cret', /not a valid key prefix/, 's3cret');
    rejectsInvalid('consul://h1/a%2F..%2Fb', /not a valid key prefix/);
    rejectsInvalid('etcd://h1/bad%zz', /percent-encoding/);
    rejectsInvalid('etcd://h1/x#frag', /fragment/);
    rejectsInvalid('etcd://[::1:2379', /unclosed/);
  });

  it('openStore rejects unknown schemes and unknown parameters', async () => {
    await assert.rejects(openStore('redis://h1:6379?token=s3cret'), (error: unknown) => {
      assert.ok(isPolykvError(error));
      assert.equal(error.code, 'INVALID_ARGUMENT');
      assert.match(error.message, /unknown scheme "redis"/);
      assert.equal(error.message.includes('s3cret'), false);
      return true;
    });
    await assert.rejects(openStore('memory://?bogus=1'), /unknown parameter "bogus"/);
    await assert.rejects(openStore('memory://?historySize=-3'), /historySize/);
    await assert.rejects(openStore('memory://a,b'), /one name/);
  });

  it('memory:// stores are private unless named; a named store is shared; the prefix scopes every key', async () => {
    const stores: Store[] = [];
    const open = async (url: string) => {
      const store = await openStore(url);
      stores.push(store);
      return store;
    };
    const privateA = await open('memory://');
    const privateB = await open('memory://');
    await privateA.set('k', 'a');
    assert.equal(await privateB.get('k'), null);

    const name = `url-test-${process.pid}`;
    const whole = await open(`memory://${name}`);
    const scoped = await open(`memory://${name}/tenant/one`);
    await scoped.set('k', 'scoped');
    assert.equal(scoped.prefix, 'tenant/one');
    assert.equal((await whole.get('tenant/one/k'))?.value, 'scoped');
    assert.equal((await scoped.get('k'))?.key, 'k');
    await whole.set('outside', 'secret');
    for (const escape of ['../outside', '../../outside', 'a/../../outside', '..', '%2E%2E/outside']) {
      const attempt = scoped.get(escape);
      if (escape.includes('%'))
        assert.equal(await attempt, null, 'percent signs are literal characters in keys');
      else await assert.rejects(attempt, /INVALID|segment/);
    }
    assert.deepEqual(
      (await scoped.list('', { recursive: true })).map((entry) => entry.key),
      ['k'],
    );
    await scoped.del('', { recursive: true });
    assert.equal(
      (await whole.get('outside'))?.value,
      'secret',
      'emptying a scoped store leaves the rest alone',
    );
    await Promise.all(stores.map((store) => store.close()));
  });
});
