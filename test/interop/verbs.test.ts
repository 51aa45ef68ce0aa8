// polykv's verbs beside the official tools' on the same keys (issue 17): what `consul kv` and
// etcdctl (ETCDCTL_API=2) do with a flag, polykv does with its own, and each reads what the other
// wrote. Conditional writes, get -r / --detailed, mkdir/rmdir, push, watch --exec, lock leftovers.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { makeDir, ManagedProcess, repoPath, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { ConsulCli, Etcdctl, parseDetailed, runTool } from '../helpers/tools.js';
import { BINARY } from './fixture.js';
import { eventually, polykv } from './expect.js';

after(stopAllServers);
const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
const tools = new ConsulCli({ address: consul.address });
const etcdctl = new Etcdctl([etcd.clientUrl]);
const consulUrl = `consul://${consul.address}`;
const etcdUrl = `etcd://${etcd.host}`;
const fresh = (name: string) => `${name}-${randomBytes(3).toString('hex')}`;

/** Lines a recorder script appended to `file`. */
function linesOf(file: string): string[] {
  try {
    return readFileSync(file, 'utf8')
      .split('\n')
      .filter((line) => line !== '');
  } catch {
    return [];
  }
}

describe('polykv and consul kv on the same keys', () => {
  let prefix: string;
  before(async () => {
    prefix = fresh('cv');
    await tools.kvPut(`${prefix}/a`, 'line 1\nline 2');
    await tools.kvPut(`${prefix}/b`, BINARY, { flags: 42 });
    await tools.kvPut(`${prefix}/c/d`, '');
  });

  it('get -r prints what consul kv get -recurse prints; --detailed shows its indexes and flags', async () => {
    const ours = await polykv(['get', '-r', prefix, '--url', consulUrl], 0);
    const theirs = await tools.run(['kv', 'get'], ['-recurse', `${prefix}/`]);
    assert.deepEqual(ours.stdout, theirs.stdout);
    for (const key of ['a', 'b']) {
      const detailed = parseDetailed(
        (await tools.run(['kv', 'get'], ['-detailed', `${prefix}/${key}`])).stdout,
      );
      const extended = (await polykv(['get', `${prefix}/${key}`, '--detailed', '--url', consulUrl], 0))
        .stdout;
      const text = extended.toString('latin1');
      assert.match(text, new RegExp(`^Created-Index: ${detailed.createIndex}$`, 'm'), key);
      assert.match(text, new RegExp(`^Modified-Index: ${detailed.modifyIndex}$`, 'm'), key);
      assert.match(text, new RegExp(`^Flags: ${detailed.flags}$`, 'm'), key);
      // The value after the blank line, byte for byte.
      const value = extended.subarray(extended.indexOf('\n\n') + 2, -1);
      assert.deepEqual(value, detailed.value, key);
    }
  });

  it('put --prev-index is consul kv put -cas -modify-index (0: only if absent); rm --prev-index is delete -cas', async () => {
    const key = `${prefix}/cas`;
    await tools.kvPut(key, 'v1');
    const index = (await tools.kvGetDetailed(key))!.modifyIndex;
    // A stale index: both refuse and write nothing.
    const theirs = await tools.run(['kv', 'put'], ['-cas', `-modify-index=${index - 1}`, key, 'by consul']);
    assert.notEqual(theirs.code, 0);
    await polykv(['put', key, 'by polykv', '--prev-index', String(index - 1), '--url', consulUrl], 1);
    assert.deepEqual(await tools.kvGet(key), Buffer.from('v1'));
    // The current index: polykv writes; then consul kv put -cas with polykv's new index writes.
    const written = await polykv(
      ['put', key, 'v2', '--prev-index', String(index), '-o', 'json', '--url', consulUrl],
      0,
    );
    const next = (JSON.parse(written.stdout.toString()) as { index: number }).index;
    assert.equal((await tools.kvGetDetailed(key))?.modifyIndex, next, "the index polykv prints is Consul's");
    assert.equal((await tools.run(['kv', 'put'], ['-cas', `-modify-index=${next}`, key, 'v3'])).code, 0);
    // -modify-index=0 and --prev-index 0: only if absent, for both tools.
    assert.notEqual((await tools.run(['kv', 'put'], ['-cas', '-modify-index=0', key, 'x'])).code, 0);
    await polykv(['put', key, 'x', '--prev-index', '0', '--url', consulUrl], 1);
    await polykv(['put', `${key}-new`, 'made', '--prev-index', '0', '--url', consulUrl], 0);
    assert.deepEqual(await tools.kvGet(`${key}-new`), Buffer.from('made'));
    // rm --prev-index: a stale index deletes nothing, the current one deletes.
    const current = (await tools.kvGetDetailed(key))!.modifyIndex;
    await polykv(['rm', key, '--prev-index', String(current - 1), '--url', consulUrl], 1);
    assert.deepEqual(await tools.kvGet(key), Buffer.from('v3'));
    await polykv(['rm', key, '--prev-index', String(current), '--url', consulUrl], 0);
    assert.equal(await tools.kvGet(key), null);
  });

  it('mkdir is a folder key consul kv sees (dir/, empty, flags 0); rmdir removes it', async () => {
    const dir = `${prefix}/folder`;
    await polykv(['mkdir', dir, '--url', consulUrl], 0);
    const marker = await tools.kvGetDetailed(`${dir}/`);
    assert.deepEqual([marker?.value.length, marker?.flags], [0, 0n]);
    await polykv(['rmdir', dir, '--url', consulUrl], 0);
    assert.equal(await tools.kvGet(`${dir}/`), null);
  });

  it("lock: nothing is left in .polykv/locks after the release; the exit code is the command's (consul lock -child-exit-code says 2)", async () => {
    const key = fresh('job');
    // The command under the lock prints what consul kv export sees, then fails with 7.
    const exportLocks = [tools.binary, 'kv', 'export', ...tools.apiFlags, '.polykv/locks/'];
    const ours = await polykv(
      ['lock', key, '--url', consulUrl, '--', 'sh', '-c', '"$@"; exit 7', 'sh', ...exportLocks],
      7,
    );
    assert.ok(ours.stdout.toString().includes(`.polykv/locks/${key}`), `held: ${ours.stdout.toString()}`);
    const left = JSON.parse((await tools.kvExport('.polykv/locks/')).toString()) as { key: string }[];
    assert.deepEqual(
      left.filter((entry) => entry.key.includes(key)),
      [],
      'the lock key is gone',
    );
    const theirs = await tools.run(['lock'], ['-child-exit-code', `${prefix}/lk`, 'exit 7']);
    assert.equal(theirs.code, 2, theirs.stderr);
    assert.equal((await tools.run(['lock'], [`${prefix}/lk`, 'exit 7'])).code, 0);
  });
});

describe('polykv and etcdctl on the same keys', () => {
  let prefix: string;
  before(() => {
    prefix = fresh('ev');
  });

  it('put --create-only is etcdctl mk; --prev-value and --prev-index are set --swap-with-value/-index', async () => {
    const key = `${prefix}/k`;
    await polykv(['put', key, 'made by polykv', '--create-only', '--url', etcdUrl], 0);
    assert.equal(await etcdctl.mk(key, 'made by etcdctl'), false, 'etcdctl mk refuses it too');
    await polykv(['put', key, 'x', '--create-only', '--url', etcdUrl], 1);
    assert.deepEqual(await etcdctl.get(key), Buffer.from('made by polykv'));

    const stale = await etcdctl.run(['set', '--swap-with-value', 'nope', '--', key, 'x']);
    assert.notEqual(stale.code, 0);
    await polykv(['put', key, 'x', '--prev-value', 'nope', '--url', etcdUrl], 1);
    await polykv(['put', key, 'swapped', '--prev-value', 'made by polykv', '--url', etcdUrl], 0);
    assert.equal(
      (await etcdctl.run(['set', '--swap-with-value', 'swapped', '--', key, 'by etcdctl'])).code,
      0,
    );

    const index = (await etcdctl.node(key))!.modifiedIndex!;
    await polykv(['put', key, 'x', '--prev-index', String(index + 1), '--url', etcdUrl], 1);
    await polykv(['put', key, 'by index', '--prev-index', String(index), '--url', etcdUrl], 0);
    assert.deepEqual(await etcdctl.get(key), Buffer.from('by index'));
    const after = (await etcdctl.node(key))!.modifiedIndex!;
    await polykv(['rm', key, '--prev-value', 'nope', '--url', etcdUrl], 1);
    await polykv(['rm', key, '--prev-index', String(after), '--url', etcdUrl], 0);
    assert.equal(await etcdctl.get(key), null);
  });

  it("get --detailed is etcdctl -o extended get (but for the key's leading / and etcd's Index line)", async () => {
    const key = `${prefix}/detailed`;
    await etcdctl.set(key, 'line 1\nline 2');
    const theirs = (await etcdctl.run(['-o', 'extended', 'get', '--', key])).stdout.toString();
    const ours = (await polykv(['get', key, '--detailed', '--url', etcdUrl], 0)).stdout.toString();
    const comparable = (text: string) => text.replace(/^Key: \//m, 'Key: ').replace(/^Index: \d+\n/m, '');
    assert.equal(comparable(ours), comparable(theirs));
  });

  it('ls is etcdctl ls -p; mkdir and rmdir are etcdctl mkdir and rmdir; push sorts with mk --in-order', async () => {
    const dir = `${prefix}/tree`;
    await polykv(['mkdir', `${dir}/empty`, '--url', etcdUrl], 0);
    await etcdctl.mkdir(`${dir}/made`);
    await etcdctl.set(`${dir}/v`, 'v');
    for (const recursive of [false, true]) {
      const ours = (
        await polykv(['ls', dir, ...(recursive ? ['-r'] : []), '--url', etcdUrl], 0)
      ).stdout.toString();
      const theirs = await etcdctl.ls(dir, { recursive });
      assert.deepEqual(
        ours.split('\n').filter((line) => line !== ''),
        theirs.map((line) => line.slice(1)),
      );
    }
    await polykv(['rmdir', `${dir}/made`, '--url', etcdUrl], 0);
    assert.equal((await etcdctl.run(['rmdir', '--', `${dir}/empty`])).code, 0);
    assert.deepEqual(await etcdctl.ls(dir), [`/${dir}/v`]);
    // Neither removes a directory with something in it.
    assert.notEqual((await etcdctl.run(['rmdir', '--', dir])).code, 0);
    await polykv(['rmdir', dir, '--url', etcdUrl], 1);

    const queue = `${prefix}/queue`;
    const made: string[] = [];
    for (let i = 0; i < 2; i++) {
      made.push(
        (await polykv(['put', queue, `polykv ${i}`, '--push', '--url', etcdUrl], 0)).stdout.toString().trim(),
      );
      const pushed = await etcdctl.run(['mk', '--in-order', '--', queue, `etcdctl ${i}`]);
      assert.equal(pushed.code, 0, pushed.stderr);
    }
    const values = (await polykv(['get', '-r', queue, '--url', etcdUrl], 0)).stdout.toString();
    assert.equal(
      values.replace(/\d{20}/g, 'N'),
      `${queue}/N:polykv 0\n${queue}/N:etcdctl 0\n${queue}/N:polykv 1\n${queue}/N:etcdctl 1\n`,
    );
    assert.ok(made.every((key) => values.includes(`${key}:polykv`)));
  });

  it('watch --exec runs once per change like etcdctl exec-watch: the same keys, values and indexes', async () => {
    const dir = makeDir(fresh('exec-watch'));
    const watched = `${prefix}/watched`;
    const recorder = (file: string, vars: string) => {
      const script = join(dir, `${file}.sh`);
      writeFileSync(script, `#!/bin/sh\nprintf '%s\\n' "${vars}" >> '${join(dir, file)}'\n`, { mode: 0o755 });
      return script;
    };
    const cli = new URL(repoPath('packages/cli/dist/main.js')).pathname;
    const ours = new ManagedProcess(
      'polykv-watch',
      process.execPath,
      [
        cli,
        'watch',
        watched,
        '-r',
        '--exec',
        '--url',
        etcdUrl,
        '--',
        recorder('ours', '$POLYKV_WATCH_TYPE $POLYKV_WATCH_KEY $POLYKV_WATCH_INDEX $POLYKV_WATCH_VALUE'),
      ],
      dir,
    );
    const theirs = new ManagedProcess(
      'etcdctl-exec-watch',
      '/usr/bin/env',
      [
        'ETCDCTL_API=2',
        etcdctl.binary,
        '--endpoints',
        etcd.clientUrl,
        'exec-watch',
        '-r',
        `/${watched}`,
        '--',
        recorder('theirs', '$ETCD_WATCH_ACTION $ETCD_WATCH_KEY $ETCD_WATCH_MODIFIED_INDEX $ETCD_WATCH_VALUE'),
      ],
      dir,
    );
    ours.start();
    theirs.start();
    try {
      // Both watch once a change reaches both (etcdctl prints nothing when it starts).
      await eventually(async () => {
        await etcdctl.set(`${watched}/ready`, 'ready');
        return linesOf(join(dir, 'ours')).length > 0 && linesOf(join(dir, 'theirs')).length > 0;
      }, 'both watches running');
      await etcdctl.set(`${watched}/a`, 'by etcdctl');
      await polykv(['put', `${watched}/b`, 'by polykv', '--url', etcdUrl], 0);
      await polykv(['put', `${watched}/a`, 'again', '--prev-value', 'by etcdctl', '--url', etcdUrl], 0);
      await etcdctl.run(['rm', '--', `${watched}/b`]);
      await etcdctl.set(`${watched}/end`, 'end');
      const done = (file: string) => linesOf(join(dir, file)).some((line) => line.includes('/end'));
      await eventually(() => done('ours') && done('theirs'), 'both saw the last change');
      const action = (word: string) =>
        /^(delete|compareAndDelete)$/.test(word) ? 'delete' : word === 'expire' ? 'expire' : 'put';
      const normal = (lines: string[], slash: string) => {
        const events = lines.map((line) => {
          const [type, key, index, ...value] = line.split(' ');
          return `${action(type!)} ${slash}${key} ${index} ${value.join(' ')}`;
        });
        return events.slice(events.findIndex((line) => / \/?\S+\/a /.test(line)));
      };
      const seen = normal(linesOf(join(dir, 'ours')), '/');
      assert.deepEqual(seen, normal(linesOf(join(dir, 'theirs')), ''));
      assert.equal(seen.length, 5, seen.join('\n'));
    } finally {
      await Promise.all([ours.stop(), theirs.stop()]);
    }
  });

  it('lock: nothing is left in .polykv after the release', async () => {
    const key = fresh('job');
    const ls = ['ETCDCTL_API=2', etcdctl.binary, '--endpoints', etcd.clientUrl, 'ls', '-r', '/.polykv'];
    const held = await polykv(['lock', key, '--url', etcdUrl, '--', '/usr/bin/env', ...ls], 0);
    assert.ok(held.stdout.toString().includes(`/.polykv/locks/${key}`), `held: ${held.stdout.toString()}`);
    const left = await runTool('/usr/bin/env', ls);
    assert.ok(!left.stdout.toString().includes(key), left.stdout.toString());
  });
});
