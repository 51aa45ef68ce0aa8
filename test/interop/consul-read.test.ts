// Consul data written by the official `consul` CLI (and a foreign session), read by every polykv
// path: Store get/list/watch, the CLI's get, dump, diff and copy (to Consul and to etcd), mirror.
// Each key comes through byte for byte (with its flags), or is named with the reason.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { createMemoryStore, binaryCodec, mirror, type PutEvent } from '@polykv/core';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { ConsulCli, Etcdctl } from '../helpers/tools.js';
import { BINARY, parseConsulExport, writeConsulFixture, type ConsulFixture } from './fixture.js';
import {
  assertCarriedOrNamed,
  eventually,
  flagsOf,
  openBytes,
  polykv,
  valuesOf,
  type CopyJson,
} from './expect.js';

after(stopAllServers);
const [consul, etcd] = await Promise.all([startConsulDev(), startEtcd()]);
const tools = new ConsulCli({ address: consul.address });
const etcdctl = new Etcdctl([etcd.clientUrl]);
const consulUrl = (prefix = '') => `consul://${consul.address}${prefix ? `/${prefix}` : ''}`;
const etcdUrl = (prefix = '') => `etcd://${etcd.host}${prefix ? `/${prefix}` : ''}`;

let fixture: ConsulFixture;
/** `consul kv export <prefix>/`, keys relative to the prefix, sorted. */
async function exportedBelow(prefix: string): Promise<{ key: string; flags: bigint; value: Buffer }[]> {
  return parseConsulExport(await tools.kvExport(`${prefix}/`))
    .map((entry) => ({ ...entry, key: entry.key.slice(prefix.length + 1) }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
/** The fixture as `consul kv export` showed it, without the keys in `without`, sorted. */
function fixtureExport(without: readonly string[]): { key: string; flags: bigint; value: Buffer }[] {
  return [...fixture.keys.values()]
    .filter(({ key }) => !without.includes(key))
    .map(({ key, flags, value }) => ({ key, flags, value }))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
}
/** The fixture's keys that hold a value in polykv's model (all but the `x/` ones). */
let values: Map<string, Uint8Array>;
before(async () => {
  fixture = await writeConsulFixture(tools, `rd-${randomBytes(4).toString('hex')}`);
  values = new Map([...fixture.keys].filter(([key]) => !key.endsWith('/')).map(([k, v]) => [k, v.value]));
});
after(() => fixture?.stop());

describe('Consul fixture → polykv Store', () => {
  it('get: every value byte for byte with its flags; list: the folder marker is a directory', async () => {
    const store = await openBytes(consulUrl(fixture.prefix));
    try {
      for (const [key, expected] of fixture.keys) {
        if (key.endsWith('/')) continue;
        const entry = await store.get(key);
        assert.deepEqual(Buffer.from(entry?.value ?? 'MISSING'), expected.value, key);
        assert.equal(flagsOf(entry), expected.flags, `${key} flags`);
      }
      const listed = await store.list('', { recursive: true });
      assert.ok(
        listed.some((entry) => entry.key === 'marker' && entry.dir),
        'marker/ is a directory',
      );
      const listedValues = await valuesOf(store);
      for (const key of values.keys()) assert.ok(listedValues.has(key), `${key} is listed`);
      assert.equal(listedValues.get('vc/child')?.value.length, 1, 'a value with children keeps both');
    } finally {
      await store.close();
    }
  });

  it('unlisted: the trailing-slash key that holds a value is named, the marker is not', async () => {
    const store = await openBytes(consulUrl(fixture.prefix));
    try {
      const unlisted = await store.unlisted('');
      assert.deepEqual(
        unlisted.map(({ path }) => path),
        ['trail/'],
      );
      assert.match(unlisted[0]!.reason, /\S/);
    } finally {
      await store.close();
    }
  });

  it('watch: the initial state and a later consul kv put arrive as the same bytes', async () => {
    const store = await openBytes(consulUrl(fixture.prefix));
    const seen = new Map<string, PutEvent<Uint8Array>>();
    const watcher = store.watch('', { recursive: true, initial: true });
    watcher.on('put', (event) => seen.set(event.key, event));
    try {
      await eventually(() => [...values.keys()].every((key) => seen.has(key)), 'the initial state');
      for (const [key, value] of values) assert.deepEqual(Buffer.from(seen.get(key)!.value), value, key);
      await tools.kvPut(`${fixture.prefix}/live/bin`, BINARY, { flags: 9 });
      await eventually(() => seen.has('live/bin'), 'the live put');
      assert.deepEqual(Buffer.from(seen.get('live/bin')!.value), BINARY);
    } finally {
      await watcher.close();
      await tools.kvDeleteTree(`${fixture.prefix}/live`);
      await store.close();
    }
  });
});

describe('Consul fixture → the polykv CLI', () => {
  it('get prints what consul kv get prints, byte for byte', async () => {
    for (const key of values.keys()) {
      const ours = await polykv(['get', key, '--url', consulUrl(fixture.prefix)], 0);
      const theirs = await tools.run(['kv', 'get'], [`${fixture.prefix}/${key}`]);
      assert.deepEqual(ours.stdout, theirs.stdout, key);
    }
  });

  it('dump --format consul is what consul kv export prints; the key it cannot read is named (exit 1)', async () => {
    const ours = await polykv(
      ['dump', '--format', 'consul', '--prefix', fixture.prefix, '--url', consulUrl()],
      1,
    );
    const theirs = parseConsulExport(await tools.kvExport(`${fixture.prefix}/`));
    const expected = theirs.filter((entry) => entry.key !== `${fixture.prefix}/trail/`);
    assert.deepEqual(parseConsulExport(ours.stdout), expected);
    assert.match(ours.stderr, new RegExp(`not dumped {2}${fixture.prefix}/trail/ `));
    // Without the key polykv cannot read, the text is consul kv export's, byte for byte.
    const plain = `${fixture.prefix}-plain`;
    for (const entry of fixture.plain) await tools.kvPut(`${plain}/${entry.key}`, entry.value, entry);
    const same = await polykv(['dump', '--format', 'consul', '--prefix', plain, '--url', consulUrl()], 0);
    assert.equal(same.stdout.toString(), (await tools.kvExport(`${plain}/`)).toString());
    await tools.kvDeleteTree(plain);
  });

  it('dump (flat) names every key it cannot hold; the polykv format holds all but the unreadable one', async () => {
    const flat = await polykv(['dump', '--url', consulUrl(fixture.prefix)], 1);
    const dumped = JSON.parse(flat.stdout.toString()) as Record<string, string>;
    for (const [key, { value, flags }] of fixture.keys) {
      if (key.endsWith('/')) continue;
      const text = Buffer.from(value).toString('utf8');
      const holdable = flags === 0n && Buffer.from(text, 'utf8').equals(value);
      if (holdable) assert.equal(dumped[key], text, key);
      else
        assert.match(
          flat.stderr,
          new RegExp(`not dumped {2}${key.replace(/[.?*+^$[\]\\(){}|-]/g, '\\$&')} `),
        );
    }
    const lossless = await polykv(['dump', '--format', 'polykv', '--url', consulUrl(fixture.prefix)], 1);
    assert.match(lossless.stderr, /not dumped {2}trail\/ /);
    const entries = (JSON.parse(lossless.stdout.toString()) as { entries: { key: string }[] }).entries;
    for (const key of values.keys())
      assert.ok(
        entries.some((entry) => entry.key === key),
        key,
      );
    // Loaded into another prefix: consul kv export shows the fixture (bytes, flags, the folder
    // marker, the value with children) but for the key the dump named.
    const target = `${fixture.prefix}-loaded`;
    await polykv(['load', '--url', consulUrl(target)], 0, { input: lossless.stdout });
    assert.deepEqual(await exportedBelow(target), fixtureExport(['trail/']));
    await tools.kvDeleteTree(`${target}/`);
  });
});

describe('Consul fixture → copy, diff, mirror', () => {
  it('copy Consul → Consul: bytes and flags as consul kv export shows them; holds and trail/ named', async () => {
    const target = `${fixture.prefix}-copy`;
    const result = await polykv(
      ['copy', '--from', consulUrl(fixture.prefix), '--to', consulUrl(target), '--json'],
      1,
    );
    const summary = JSON.parse(result.stdout.toString()) as CopyJson;
    const named = await assertCarriedOrNamed(summary, values, (key) => tools.kvGet(`${target}/${key}`));
    assert.deepEqual([...named.keys()], ['trail/']);
    const copied = new Map(
      parseConsulExport(await tools.kvExport(`${target}/`)).map((e) => [e.key.slice(target.length + 1), e]),
    );
    for (const [key, { flags }] of fixture.keys)
      if (!key.endsWith('/')) assert.equal(copied.get(key)?.flags, flags, `${key} flags`);
    // consul kv export of the copy is the fixture's but for trail/ (named; no empty folder in its place).
    assert.deepEqual(await exportedBelow(target), fixtureExport(['trail/']));
    const holders = await fixture.sessions();
    for (const key of holders.keys())
      assert.ok(
        summary.adjusted.some((note) => note.key === key && /held by session/.test(note.note)),
        `${key}: the hold is named`,
      );

    // diff: the copy is the same but for the key neither side can list; a flags change shows.
    const same = await polykv(['diff', consulUrl(fixture.prefix), consulUrl(target)], 1);
    assert.match(same.stdout.toString(), /^\? A trail\/ {2}\S[^\n]*\n$/);
    await tools.kvPut(`${target}/text`, 'hello world', { flags: 5 });
    const flagged = await polykv(['diff', consulUrl(fixture.prefix), consulUrl(target)], 1);
    assert.match(flagged.stdout.toString(), /^~ text$/m);
    await tools.kvDeleteTree(target);
  });

  it('copy Consul → etcd: text is carried for etcdctl; bytes, flags, value-with-children and trail/ are named', async () => {
    const target = `from-consul-${randomBytes(3).toString('hex')}`;
    const result = await polykv(
      ['copy', '--from', consulUrl(fixture.prefix), '--to', etcdUrl(target), '--json'],
      1,
    );
    const summary = JSON.parse(result.stdout.toString()) as CopyJson;
    const named = await assertCarriedOrNamed(summary, values, (key) => etcdctl.get(`${target}/${key}`));
    for (const key of ['bin', 'max-flags', 'flags-text', 'trail/', 'lk/.lock', 'sem/.lock'])
      assert.ok(named.has(key), `${key} is named`);
    assert.match(named.get('bin')!, /^UNREPRESENTABLE: /);
    assert.match(named.get('flags-text')!, /^UNREPRESENTABLE: .*flags/);
    assert.ok(named.has('vc') || named.has('vc/child'), 'the value with children is named');
    assert.ok(summary.copied.includes('text') && summary.copied.includes('odd/ü n%?#x'));
    assert.deepEqual((await etcdctl.ls(`${target}/marker`)).length, 0, 'marker/ became an empty directory');
    assert.equal(await etcdctl.node(`${target}/trail`), null, 'trail/ is named, not made a directory');

    // --drop-flags carries the text values that have flags, and says so.
    const dropped = JSON.parse(
      (
        await polykv(
          ['copy', '--from', consulUrl(fixture.prefix), '--to', etcdUrl(target), '--drop-flags', '--json'],
          1,
        )
      ).stdout.toString(),
    ) as CopyJson;
    assert.ok(dropped.copied.includes('flags-text'));
    assert.ok(dropped.adjusted.some(({ key, note }) => key === 'flags-text' && /flags/.test(note)));
    assert.deepEqual(await etcdctl.get(`${target}/flags-text`), Buffer.from('flagged'));
    assert.ok(
      dropped.failed.some(({ key }) => key === 'bin'),
      'bytes are still refused',
    );
    await etcdctl.rmTree(target);

    // The text summary names the same keys, and never says "failed 0".
    const text = await polykv(
      ['copy', '--from', consulUrl(fixture.prefix), '--to', etcdUrl(`${target}-text`)],
      1,
    );
    const out = text.stdout.toString();
    assert.match(out, new RegExp(`; failed ${summary.failed.length}\n`));
    for (const { key } of summary.failed)
      assert.ok(out.includes(`\n  failed  ${key}  `), `${key} is named in the text summary`);
    assert.match(out, /^ {2}failed {2}bin {2}UNREPRESENTABLE: /m);
    await etcdctl.rmTree(`${target}-text`);
  });

  it('mirror Consul → Consul: consul kv export of the target is the fixture but for trail/, named', async () => {
    const target = `${fixture.prefix}-mirror`;
    const from = await openBytes(consulUrl(fixture.prefix));
    const to = await openBytes(consulUrl(target));
    const running = mirror(from, to);
    const skipped = new Map<string, string>();
    running.on('skipped', (key, error) => skipped.set(key, error.code));
    let synced = false;
    running.once('synced', () => (synced = true));
    try {
      await eventually(() => synced, 'the first full sync');
      assert.deepEqual([...skipped], [['trail/', 'UNREPRESENTABLE']]);
      // Flags, bytes, the value with children and the folder marker, as consul kv export shows them.
      assert.deepEqual(await exportedBelow(target), fixtureExport(['trail/']));
      await tools.kvPut(`${fixture.prefix}/live`, BINARY, { flags: 3 });
      await eventually(
        async () => (await tools.kvGetDetailed(`${target}/live`))?.flags === 3n,
        'a live consul kv put mirrored with its flags',
      );
      assert.deepEqual(await tools.kvGet(`${target}/live`), BINARY);
    } finally {
      await running.close();
      await Promise.all([from.close(), to.close()]);
      await tools.kvDeleteTree(`${fixture.prefix}/live`);
      await tools.kvDeleteTree(`${target}/`);
    }
  });

  it('mirror Consul → memory:// keeps bytes and flags; what memory cannot hold is skipped by name', async () => {
    const from = await openBytes(consulUrl(fixture.prefix));
    const to = createMemoryStore({ codec: binaryCodec });
    const running = mirror(from, to);
    const skipped = new Map<string, string>();
    running.on('skipped', (key, error) => skipped.set(key, error.code));
    // The keys the watch cannot deliver (trail/) are named by the first full sync, which may end
    // after every watched key has been carried.
    let synced = false;
    running.once('synced', () => (synced = true));
    const carried = async (key: string): Promise<boolean> => {
      const entry = await to.get(key);
      return entry !== null && Buffer.from(entry.value).equals(values.get(key)!);
    };
    try {
      await eventually(async () => {
        for (const key of values.keys()) if (!skipped.has(key) && !(await carried(key))) return false;
        return true;
      }, 'every key carried or skipped');
      await eventually(() => synced, 'the first full sync (it names trail/)');
      // memory:// keeps values and directories apart, like etcd: one of vc, vc/child cannot be held;
      // trail/ cannot be read at all. Both are named; nothing else is left behind.
      assert.deepEqual(
        [...skipped.keys()].filter((key) => key !== 'vc' && key !== 'vc/child'),
        ['trail/'],
      );
      for (const [key, { flags }] of fixture.keys)
        if (!key.endsWith('/') && !skipped.has(key))
          assert.equal(flagsOf(await to.get(key)), flags, `${key} flags`);
    } finally {
      await running.close();
      await Promise.all([from.close(), to.close()]);
    }
  });
});
