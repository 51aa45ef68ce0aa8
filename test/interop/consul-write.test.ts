// polykv writes, the official `consul` CLI reads: put (@file, -, --base64, --flags), load of a real
// `consul kv export`, `consul kv import` of `polykv dump --format consul`, and a copy into Consul.
// And the foreign-session rule (issue 12.1): polykv writing to keys other tools hold keeps the holds.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDir, stopAllServers } from '../helpers/processes.js';
import { startConsulDev } from '../helpers/servers.js';
import { ConsulCli } from '../helpers/tools.js';
import { BINARY, parseConsulExport, sessionInfo, writeConsulFixture, type ConsulFixture } from './fixture.js';
import { openBytes, polykv, type CopyJson } from './expect.js';

after(stopAllServers);
const consul = await startConsulDev();
const tools = new ConsulCli({ address: consul.address });
const url = (prefix = '') => `consul://${consul.address}${prefix ? `/${prefix}` : ''}`;
const fresh = (name: string) => `${name}-${randomBytes(4).toString('hex')}`;

describe('polykv writes, consul kv reads', () => {
  it('put @file, -, --base64 and --flags: consul kv get -detailed shows the same bytes and flags', async () => {
    const prefix = fresh('put');
    const file = join(makeDir('interop-put'), 'binary.dat');
    writeFileSync(file, BINARY);
    await polykv(['put', 'file', `@${file}`, '--flags', '42', '--url', url(prefix)], 0);
    await polykv(['put', 'stdin', '-', '--url', url(prefix)], 0, { input: BINARY });
    await polykv(['put', 'b64', BINARY.toString('base64'), '--base64', '--url', url(prefix)], 0);
    await polykv(['put', 'max', 'm', '--flags', '18446744073709551615', '--url', url(prefix)], 0);
    for (const [key, flags] of [
      ['file', 42n],
      ['stdin', 0n],
      ['b64', 0n],
    ] as const) {
      const detailed = await tools.kvGetDetailed(`${prefix}/${key}`);
      assert.deepEqual(detailed?.value, BINARY, key);
      assert.equal(detailed?.flags, flags, `${key} flags`);
    }
    assert.equal((await tools.kvGetDetailed(`${prefix}/max`))?.flags, 0xffff_ffff_ffff_ffffn);
    // get --json shows flags as exact JSON numbers, and bytes as base64.
    const json = (await polykv(['get', 'max', '--json', '--url', url(prefix)], 0)).stdout.toString();
    assert.match(json, /"value":"m"/);
    assert.match(json, /"flags":18446744073709551615[,}]/);
    const bin = JSON.parse(
      (await polykv(['get', 'file', '--json', '--url', url(prefix)], 0)).stdout.toString(),
    );
    assert.deepEqual([bin.valueBase64, bin.flags, bin.value], [BINARY.toString('base64'), 42, undefined]);
    // A put without --flags is a full replace, as `consul kv put` is: flags 0.
    await polykv(['put', 'file', 'text now', '--url', url(prefix)], 0);
    assert.equal((await tools.kvGetDetailed(`${prefix}/file`))?.flags, 0n);
  });

  it('load reads a real consul kv export; consul kv export of the result is the same', async () => {
    const source = fresh('export-src');
    await tools.kvPut(`${source}/bin`, BINARY, { flags: 42 });
    await tools.kvPut(`${source}/text`, 'hello world');
    await tools.kvPut(`${source}/empty`, '');
    await tools.kvPut(`${source}/odd/ü n%?#x`, 'odd');
    await tools.kvPut(`${source}/folder/`, '');
    const exported = await tools.kvExport(`${source}/`);
    const target = fresh('export-dst');
    const loaded = await polykv(['load', '--url', url(target)], 0, { input: exported });
    assert.match(loaded.stdout.toString(), /^loaded 4 keys and 1 directory into /);
    const rebased = (data: Buffer, prefix: string) =>
      parseConsulExport(data).map((entry) => ({ ...entry, key: entry.key.slice(prefix.length + 1) }));
    assert.deepEqual(
      rebased(await tools.kvExport(`${target}/${source}/`), `${target}/${source}`),
      rebased(exported, source),
    );
    // Detected, or forced with --format consul; anything else in the file is a BAD_INPUT.
    await polykv(['load', '--format', 'consul', '--url', url(target)], 0, { input: exported });
    const bad = await polykv(['load', '--format', 'consul', '--url', url(target)], 1, { input: '{"a":"b"}' });
    assert.match(bad.stderr, /^polykv: BAD_INPUT: /);
  });

  it('load names a consul kv export entry polykv cannot hold (a trailing-slash key with a value)', async () => {
    const source = fresh('trail-src');
    await tools.kvPut(`${source}/trail/`, 'a value on a folder');
    await tools.kvPut(`${source}/ok`, 'fine');
    const result = await polykv(['load', '--url', url(fresh('trail-dst'))], 1, {
      input: await tools.kvExport(`${source}/`),
    });
    assert.match(result.stdout.toString(), /^loaded 1 key into .*; failed 1$/m);
    assert.match(result.stdout.toString(), new RegExp(`^ {2}failed {2}${source}/trail/ {2}\\S`, 'm'));
  });

  it('consul kv import reads polykv dump --format consul, from Consul and from etcd-shaped data', async () => {
    const source = fresh('imp-src');
    const store = await openBytes(url(source));
    try {
      await store.set('bin', BINARY);
      await store.set('text', new TextEncoder().encode('hello world'));
      await store.mkdir('empty');
    } finally {
      await store.close();
    }
    const dumped = await polykv(['dump', '--format', 'consul', '--url', url(source)], 0);
    const target = fresh('imp-dst');
    await tools.kvImport(dumped.stdout.toString().replaceAll('"key": "', `"key": "${target}/`));
    assert.deepEqual(await tools.kvGet(`${target}/bin`), BINARY);
    assert.deepEqual(await tools.kvGet(`${target}/text`), Buffer.from('hello world'));
    assert.deepEqual(await tools.kvGet(`${target}/empty/`), Buffer.alloc(0), 'the folder marker');
  });
});

describe('foreign sessions survive polykv writes (issue 12.1)', () => {
  let fixture: ConsulFixture;
  before(async () => {
    fixture = await writeConsulFixture(tools, fresh('held'));
  });
  after(() => fixture?.stop());

  it('put, Store.set and copy --overwrite on held keys keep every session, every key and consul lock', async () => {
    const holders = await fixture.sessions();
    assert.ok(holders.size >= 4, `the fixture holds keys: ${[...holders.keys()].join(', ')}`);
    const u = url(fixture.prefix);
    // The CLI (a single put), the Store (set), and copy's bulk path (a transaction) on every held key.
    for (const key of holders.keys()) await polykv(['put', key, `cli wrote ${key}`, '--url', u], 0);
    const store = await openBytes(u);
    try {
      for (const key of holders.keys()) await store.set(key, new TextEncoder().encode(`set ${key}`));
    } finally {
      await store.close();
    }
    const other = fresh('overwrite-src');
    const source = await openBytes(url(other));
    try {
      for (const key of holders.keys()) await source.set(key, new TextEncoder().encode(`copied ${key}`));
    } finally {
      await source.close();
    }
    const copied = await polykv(['copy', '--from', url(other), '--to', u, '--overwrite', '--json'], 0);
    const summary = JSON.parse(copied.stdout.toString()) as CopyJson;
    assert.deepEqual(summary.copied.sort(), [...holders.keys()].sort());

    // Every session is still there, every key it held is there and still held, consul lock runs.
    assert.equal((await sessionInfo(tools, fixture.session.id))?.Name, fixture.session.name);
    for (const [key, session] of holders) {
      assert.notEqual(await sessionInfo(tools, session), null, `the session holding ${key}`);
      const detailed = await tools.kvGetDetailed(`${fixture.prefix}/${key}`);
      assert.equal(detailed?.session, session, `${key} is still held by its session`);
      assert.deepEqual(detailed?.value, Buffer.from(`copied ${key}`), `${key} has the last value`);
    }
    for (const key of fixture.keys.keys())
      assert.notEqual(await tools.kvGet(`${fixture.prefix}/${key}`), null, `${key} is still there`);
    assert.ok(fixture.lock.running, 'consul lock still runs its command');
    assert.ok(fixture.semaphore.running, 'consul lock -n 2 still runs its command');
  });

  it('a TTL write on a held key is refused (HELD, naming the holder) and writes nothing', async () => {
    const key = fixture.session.keys[0]!;
    const before = await tools.kvGetDetailed(`${fixture.prefix}/${key}`);
    const refused = await polykv(['put', key, 'ttl write', '--ttl', '30', '--url', url(fixture.prefix)], 1);
    assert.match(refused.stderr, /^polykv: HELD: .*interop fixture: a Go service/m);
    const after = await tools.kvGetDetailed(`${fixture.prefix}/${key}`);
    assert.deepEqual(after?.value, before?.value);
    assert.equal(after?.session, fixture.session.id);
  });
});
