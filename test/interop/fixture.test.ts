// The fixture itself, read back with the same official tools that wrote it: the ground truth the
// other interop tests compare polykv against. If one of these fails, the tools (or the servers)
// behave differently from what the rest of test/interop assumes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { ConsulCli, Etcdctl, runTool } from '../helpers/tools.js';
import {
  BINARY,
  CONSUL_LOCK_FLAGS,
  CONSUL_SEMAPHORE_FLAGS,
  sessionInfo,
  writeConsulFixture,
  writeEtcdFixture,
  type ConsulFixture,
} from './fixture.js';

after(stopAllServers);
const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev({ acl: true })]);
const consulCli = new ConsulCli({ address: consul.address, token: consul.token });
const etcdctl = new Etcdctl([etcd.clientUrl]);

describe('the Consul fixture, as consul kv sees it', () => {
  let fixture: ConsulFixture;
  before(async () => {
    fixture = await writeConsulFixture(consulCli, `fx-${randomBytes(4).toString('hex')}`);
  });
  after(() => fixture?.stop());

  it('binary values and flags come back byte for byte from consul kv get and export', async () => {
    const bin = await consulCli.kvGetDetailed(`${fixture.prefix}/bin`);
    assert.deepEqual(bin?.value, BINARY);
    assert.equal(bin?.flags, 42n);
    assert.deepEqual(fixture.keys.get('bin')?.value, BINARY);
    assert.equal(fixture.keys.get('max-flags')?.flags, 0xffff_ffff_ffff_ffffn);
    assert.deepEqual(await consulCli.kvGet(`${fixture.prefix}/multi`), Buffer.from('line 1\nline 2\n'));
    assert.deepEqual(await consulCli.kvGet(`${fixture.prefix}/empty`), Buffer.alloc(0));
    assert.equal(await consulCli.kvGet(`${fixture.prefix}/missing`), null);
    for (const entry of fixture.plain) assert.deepEqual(fixture.keys.get(entry.key), entry, entry.key);
  });

  it('a trailing-slash key with a value and a key with a value and children are both there', () => {
    assert.deepEqual(fixture.keys.get('trail/')?.value, fixture.trailing.value);
    assert.deepEqual(fixture.keys.get('vc')?.value, Buffer.from('parent'));
    assert.deepEqual(fixture.keys.get('vc/child')?.value, Buffer.from('c'));
  });

  it('consul lock, consul lock -n 2 and a session of its own hold their keys', async () => {
    const holders = await fixture.sessions();
    assert.equal(holders.get('svc/leader'), fixture.session.id);
    assert.equal(holders.get('svc/registry/node-1'), fixture.session.id);
    assert.ok(holders.get('lk/.lock'), 'consul lock holds lk/.lock');
    assert.equal(fixture.keys.get('lk/.lock')?.flags, CONSUL_LOCK_FLAGS);
    assert.equal(fixture.keys.get('sem/.lock')?.flags, CONSUL_SEMAPHORE_FLAGS);
    const contender = [...holders].find(([key]) => key.startsWith('sem/') && key !== 'sem/.lock');
    assert.ok(contender, 'consul lock -n 2 holds its contender key');
    assert.equal(contender[0], `sem/${contender[1]}`);
    assert.equal((await sessionInfo(consulCli, fixture.session.id))?.Name, fixture.session.name);
    assert.ok(fixture.lock.running && fixture.semaphore.running);
  });

  it('consul kv import of its own export writes the same bytes and flags elsewhere', async () => {
    const exported = await consulCli.kvExport(`${fixture.prefix}/bin`);
    const moved = exported.toString('utf8').replaceAll(`"${fixture.prefix}/`, `"${fixture.prefix}-copy/`);
    await consulCli.kvImport(moved);
    const copy = await consulCli.kvGetDetailed(`${fixture.prefix}-copy/bin`);
    assert.deepEqual(copy?.value, BINARY);
    assert.equal(copy?.flags, 42n);
    await consulCli.kvDeleteTree(`${fixture.prefix}-copy`);
  });
});

describe('the etcd fixture, as etcdctl (ETCDCTL_API=2) sees it', () => {
  it('values read back as written; _ keys are read directly but never listed; TTLs are set', async () => {
    const prefix = `fx-${randomBytes(4).toString('hex')}`;
    const fixture = await writeEtcdFixture(etcdctl, prefix);
    for (const entry of [...fixture.listed, ...fixture.hidden])
      assert.deepEqual(await etcdctl.get(`${prefix}/${entry.key}`), entry.value, entry.key);
    const listing = await etcdctl.ls(prefix, { recursive: true });
    for (const entry of fixture.listed) assert.ok(listing.includes(`/${prefix}/${entry.key}`), entry.key);
    for (const entry of fixture.hidden)
      assert.ok(!listing.includes(`/${prefix}/${entry.key}`), `${entry.key} is not listed`);
    assert.ok(listing.includes(`/${prefix}/emptydir/`));
    const ttl = await etcdctl.node(`${prefix}/ttl`);
    assert.ok(ttl?.ttl !== undefined && ttl.ttl > 0 && ttl.ttl <= fixture.ttlSeconds);
    const dir = await etcdctl.node(`${prefix}/tdir`);
    assert.ok(dir?.dir && dir.ttl !== undefined && dir.ttl > 0);
  });

  it('etcdctl cannot store bytes that are not UTF-8: etcd v2 answers U+FFFD for them', async () => {
    // Evidence for the text-only rule: what any v2 client gets back from such a write.
    // Node passes arguments as UTF-8, so the raw bytes go through a shell's printf.
    const key = `fx-${randomBytes(4).toString('hex')}/bin`;
    const set = await runTool('sh', [
      '-c',
      `ETCDCTL_API=2 "$0" --endpoints "$1" set "$2" "$(printf '\\377\\376abc')"`,
      etcdctl.binary,
      etcd.clientUrl,
      key,
    ]);
    assert.equal(set.code, 0, set.stderr);
    assert.deepEqual(await etcdctl.get(key), Buffer.from('\ufffd\ufffdabc'));
  });
});
