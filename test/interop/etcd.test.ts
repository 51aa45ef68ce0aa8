// etcd data written by etcdctl (ETCDCTL_API=2) through every polykv path, and polykv's writes read
// back by etcdctl. etcd v2 holds text: a value etcdctl wrote reads as its own UTF-8 bytes (never
// base64-decoded, whatever it looks like), and bytes that are not UTF-8 are refused, not mangled.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { ConsulCli, Etcdctl } from '../helpers/tools.js';
import { BINARY, parseConsulExport, writeEtcdFixture, type EtcdFixture } from './fixture.js';
import { mirror } from '@polykv/core';
import { assertCarriedOrNamed, eventually, openBytes, polykv, valuesOf, type CopyJson } from './expect.js';

after(stopAllServers);
const [etcd, other, consul] = await Promise.all([startEtcd(), startEtcd(), startConsulDev()]);
const etcdctl = new Etcdctl([etcd.clientUrl]);
const otherctl = new Etcdctl([other.clientUrl]);
const tools = new ConsulCli({ address: consul.address });
const etcdUrl = (prefix = '') => `etcd://${etcd.host}${prefix ? `/${prefix}` : ''}`;
const fresh = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

let fixture: EtcdFixture;
/** The values every listing shows (the `_` keys are hidden by etcd itself). */
let listed: Map<string, Uint8Array>;
before(async () => {
  fixture = await writeEtcdFixture(etcdctl, fresh('etcd-fx'));
  listed = new Map(fixture.listed.map((entry) => [entry.key, entry.value]));
});

describe('etcdctl fixture → polykv', () => {
  it('Store get: every value (and _ key) reads as its own UTF-8 bytes, never decoded', async () => {
    const store = await openBytes(etcdUrl(fixture.prefix));
    try {
      for (const entry of [...fixture.listed, ...fixture.hidden]) {
        const got = await store.get(entry.key);
        assert.deepEqual(Buffer.from(got?.value ?? 'MISSING'), entry.value, entry.key);
      }
      const values = await valuesOf(store);
      assert.deepEqual([...values.keys()].sort(), [...listed.keys()].sort(), 'listed: all but the _ keys');
      assert.ok(values.get('ttl')?.expiresAt, 'the TTL key has expiresAt');
      const dirs = (await store.list('', { recursive: true })).filter((entry) => entry.dir);
      assert.ok(
        dirs.some((entry) => entry.key === 'tdir' && entry.expiresAt),
        'the TTL directory',
      );
      assert.ok(dirs.some((entry) => entry.key === 'emptydir'));
    } finally {
      await store.close();
    }
  });

  it('Store watch: the initial state and a later etcdctl set arrive as the same bytes', async () => {
    const store = await openBytes(etcdUrl(fixture.prefix));
    const seen = new Map<string, Uint8Array>();
    const watcher = store.watch('', { recursive: true, initial: true });
    watcher.on('put', (event) => seen.set(event.key, event.value));
    try {
      await eventually(() => [...listed.keys()].every((key) => seen.has(key)), 'the initial state');
      for (const [key, value] of listed) assert.deepEqual(Buffer.from(seen.get(key)!), value, key);
      await etcdctl.set(`${fixture.prefix}/watched/text`, 'aGVsbG8= is text');
      await eventually(() => seen.has('watched/text'), 'the live set');
      assert.deepEqual(Buffer.from(seen.get('watched/text')!), Buffer.from('aGVsbG8= is text'));
    } finally {
      await watcher.close();
      await store.close();
    }
  });

  it('CLI get prints what etcdctl get prints, byte for byte', async () => {
    for (const entry of [...fixture.listed, ...fixture.hidden]) {
      const [ours, theirs] = await Promise.all([
        polykv(['get', entry.key, '--url', etcdUrl(fixture.prefix)], 0),
        etcdctl.run(['get', '--', `${fixture.prefix}/${entry.key}`]),
      ]);
      assert.deepEqual(ours.stdout, theirs.stdout, entry.key);
    }
  });

  it('copy etcd → Consul: text byte for byte for consul kv get; TTLs kept or named; the TTL directory named', async () => {
    const target = fresh('from-etcd');
    const result = await polykv(
      ['copy', '--from', etcdUrl(fixture.prefix), '--to', `consul://${consul.address}/${target}`, '--json'],
      1,
    );
    const summary = JSON.parse(result.stdout.toString()) as CopyJson;
    const named = await assertCarriedOrNamed(summary, listed, (key) => tools.kvGet(`${target}/${key}`));
    // A directory TTL has no Consul form; everything else is carried.
    assert.deepEqual([...named.keys()], ['tdir']);
    assert.match(named.get('tdir')!, /^UNREPRESENTABLE: /);
    assert.ok(summary.dirs.includes('emptydir'));
    assert.ok(
      (await tools.kvGetDetailed(`${target}/ttl`))?.session,
      'the TTL key is held by its TTL session',
    );
  });

  it('copy etcd → etcd keeps the directory TTL (etcdctl sees it); diff names no difference', async () => {
    const prefix = fixture.prefix;
    const result = await polykv(
      ['copy', '--from', etcdUrl(prefix), '--to', `etcd://${other.host}/${prefix}`, '--json'],
      0,
    );
    const summary = JSON.parse(result.stdout.toString()) as CopyJson;
    await assertCarriedOrNamed(summary, listed, (key) => otherctl.get(`${prefix}/${key}`));
    const dir = await otherctl.node(`${prefix}/tdir`);
    assert.ok(dir?.dir && dir.ttl !== undefined && dir.ttl > 0, 'the directory kept a TTL');
    assert.ok((await otherctl.node(`${prefix}/ttl`))?.ttl, 'the key kept a TTL');
    await polykv(['diff', etcdUrl(prefix), `etcd://${other.host}/${prefix}`], 0);
    await otherctl.rmTree(prefix);
  });

  it('dump --format polykv → load into another etcd: etcdctl sees the same values, TTLs and directories', async () => {
    const dumped = await polykv(['dump', '--format', 'polykv', '--url', etcdUrl(fixture.prefix)], 0);
    const target = fresh('loaded');
    await polykv(['load', '--url', `etcd://${other.host}/${target}`], 0, { input: dumped.stdout });
    for (const [key, value] of listed) assert.deepEqual(await otherctl.get(`${target}/${key}`), value, key);
    assert.ok((await otherctl.node(`${target}/ttl`))?.ttl, 'the key has a TTL');
    const dir = await otherctl.node(`${target}/tdir`);
    assert.ok(dir?.dir && dir.ttl !== undefined, 'the directory has a TTL');
    assert.ok((await otherctl.ls(target)).includes(`/${target}/emptydir/`));
  });

  it('dump --format consul → consul kv import: the same text; the TTL keys are named', async () => {
    const dumped = await polykv(
      ['dump', '--format', 'consul', '--prefix', fixture.prefix, '--url', etcdUrl()],
      1,
    );
    assert.match(dumped.stderr, new RegExp(`not dumped {2}${fixture.prefix}/ttl `));
    assert.match(dumped.stderr, new RegExp(`not dumped {2}${fixture.prefix}/tdir `));
    await tools.kvImport(dumped.stdout);
    for (const [key, value] of listed)
      if (key !== 'ttl') assert.deepEqual(await tools.kvGet(`${fixture.prefix}/${key}`), value, key);
    assert.deepEqual(await tools.kvGet(`${fixture.prefix}/emptydir/`), Buffer.alloc(0));
  });
});

describe('etcdctl fixture → mirror → consul kv', () => {
  it('every listed key reaches Consul byte for byte, or is skipped by name (the TTL directory)', async () => {
    const target = fresh('mirrored');
    const from = await openBytes(etcdUrl(fixture.prefix));
    const to = await openBytes(`consul://${consul.address}/${target}`);
    const running = mirror(from, to);
    const skipped = new Map<string, string>();
    running.on('skipped', (key, error) => skipped.set(key, error.code));
    try {
      await eventually(async () => {
        for (const [key, value] of listed)
          if (!skipped.has(key) && !(await tools.kvGet(`${target}/${key}`))?.equals(value)) return false;
        return true;
      }, 'every key mirrored or skipped');
      assert.deepEqual(
        [...skipped.keys()].filter((key) => key !== 'tdir'),
        [],
      );
      await etcdctl.set(`${fixture.prefix}/live`, 'changed by etcdctl');
      await eventually(
        async () => (await tools.kvGet(`${target}/live`))?.toString() === 'changed by etcdctl',
        'a live change',
      );
    } finally {
      await running.close();
      await Promise.all([from.close(), to.close()]);
    }
  });
});

describe('polykv writes, etcdctl reads', () => {
  it('put and load write text etcdctl reads as is; bytes that are not UTF-8 are refused, not mangled', async () => {
    const prefix = fresh('written');
    const u = etcdUrl(prefix);
    await polykv(['put', 'text', 'hello world', '--url', u], 0);
    await polykv(['put', 'b64-looking', 'aGVsbG8gd29ybGQ=', '--url', u], 0);
    await polykv(['put', 'stdin', '-', '--url', u], 0, { input: 'line 1\nline 2\n' });
    await polykv(['load', '--url', u], 0, { input: JSON.stringify({ 'odd/ü n%?#x': 'odd', n: 5 }) });
    assert.deepEqual(await etcdctl.get(`${prefix}/text`), Buffer.from('hello world'));
    assert.deepEqual(await etcdctl.get(`${prefix}/b64-looking`), Buffer.from('aGVsbG8gd29ybGQ='));
    assert.deepEqual(await etcdctl.get(`${prefix}/stdin`), Buffer.from('line 1\nline 2\n'));
    assert.deepEqual(await etcdctl.get(`${prefix}/odd/ü n%?#x`), Buffer.from('odd'));
    assert.deepEqual(await etcdctl.get(`${prefix}/n`), Buffer.from('5'));
    const refused = await polykv(['put', 'bin', '-', '--url', u], 1, { input: BINARY });
    assert.match(refused.stderr, /^polykv: UNREPRESENTABLE: /m);
    assert.equal(await etcdctl.get(`${prefix}/bin`), null, 'nothing was written');
    // Opted in by URL: the bytes round-trip, and etcdctl sees the named encoding, not mangled text.
    const optIn = `${u}?binaryEncoding=base64`;
    await polykv(['put', 'bin', '-', '--url', optIn], 0, { input: BINARY });
    assert.deepEqual((await polykv(['get', 'bin', '--raw', '--url', optIn], 0)).stdout, BINARY);
    assert.deepEqual(
      await etcdctl.get(`${prefix}/bin`),
      Buffer.from(`polykv:base64:${BINARY.toString('base64')}`),
    );
  });
});

describe('interchange: consul kv export → etcd → consul kv import (issue 17)', () => {
  it('what etcd holds comes back to consul kv export unchanged; what it cannot hold is named by load', async () => {
    const source = fresh('circle-src');
    const text: [string, string][] = [
      ['text', 'hello world'],
      ['multi', 'line 1\nline 2\n'],
      ['empty', ''],
      ['odd/ü n%?#x', 'odd'],
    ];
    for (const [key, value] of text) await tools.kvPut(`${source}/${key}`, value);
    await tools.kvPut(`${source}/folder/`, '');
    await tools.kvPut(`${source}/bin`, BINARY);
    await tools.kvPut(`${source}/flagged`, 'text with flags', { flags: 5 });
    const exported = await tools.kvExport(`${source}/`);

    // consul kv export → polykv load into etcd: text as etcdctl reads it; bytes and flags named.
    const middle = fresh('circle-etcd');
    const loaded = await polykv(['load', '--url', etcdUrl(middle)], 1, { input: exported });
    const out = loaded.stdout.toString();
    assert.match(out, new RegExp(`^ {2}failed {2}${source}/bin {2}UNREPRESENTABLE: `, 'm'));
    assert.match(out, new RegExp(`^ {2}failed {2}${source}/flagged {2}UNREPRESENTABLE: .*flags`, 'm'));
    for (const [key, value] of text)
      assert.deepEqual(await etcdctl.get(`${middle}/${source}/${key}`), Buffer.from(value), key);
    assert.ok((await etcdctl.ls(`${middle}/${source}`)).includes(`/${middle}/${source}/folder/`));

    // etcd → polykv dump --format consul → consul kv import elsewhere → consul kv export.
    const back = fresh('circle-back');
    const dumped = await polykv(['dump', '--format', 'consul', '--url', etcdUrl(middle)], 0);
    await tools.kvImport(dumped.stdout.toString().replaceAll(`"key": "${source}/`, `"key": "${back}/`));
    const rebased = (data: Buffer, prefix: string) =>
      parseConsulExport(data).map((entry) => ({ ...entry, key: entry.key.slice(prefix.length + 1) }));
    assert.deepEqual(
      rebased(await tools.kvExport(`${back}/`), back),
      rebased(exported, source).filter((entry) => entry.key !== 'bin' && entry.key !== 'flagged'),
    );
  });
});
