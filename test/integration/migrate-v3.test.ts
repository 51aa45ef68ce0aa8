import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { diff, mirror, type Mirror, type PolykvError, type Store } from '@polykv/core';
import { createConsulStore } from '@polykv/consul';
import { createEtcdStore } from '@polykv/etcd';
import { createEtcd3Store } from '@polykv/etcd3';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { repoPath, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';
import { eventually } from '../helpers/eventually.js';

// Moving off etcd v2 (README, "Moving off etcd v2"): the v2 and v3 key spaces of one etcd cluster
// are separate, so the whole migration runs on one member: `polykv copy` of a v2 prefix into v3,
// then a live mirror v2 → v3 under load until `polykv diff` finds nothing; then the same from v3 to
// Consul and back.
after(stopAllServers);

/** Runs `polykv ...args` (the built CLI) to the end. */
function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const main = fileURLToPath(repoPath('packages/cli/dist/main.js'));
  return new Promise((resolve) => {
    execFile(process.execPath, [main, ...args], { timeout: 60_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? Number(error.code ?? 1) : 0, stdout, stderr }),
    );
  });
}

const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
const v2Url = (prefix: string): string => `etcd://${etcd.host}/${prefix}`;
const v3Url = (prefix: string): string => `etcd3://${etcd.host}/${prefix}`;
const consulUrl = (prefix: string): string => `consul://${consul.address}/${prefix}`;

async function differences(from: Store, to: Store): Promise<number> {
  const d = await diff(from, to);
  return d.missing.length + d.extra.length + d.different.length + d.unlisted.length;
}

const until = (check: () => Promise<boolean>, ms: number, what: string): Promise<void> =>
  eventually(check, what, { ms, every: 100 });

/**
 * Four writers on `store` until `stop`: new keys, overwrites, deletes, some with a TTL, in nested
 * directories. Resolves how many writes were acknowledged.
 */
async function writeUnderLoad(store: Store, stop: AbortSignal): Promise<number> {
  let acked = 0;
  await Promise.all(
    Array.from({ length: 4 }, async (_, writer) => {
      for (let n = 0; !stop.aborted; n++) {
        const key = `w${writer}/d${n % 7}/k${n % 23}`;
        try {
          if (n % 11 === 10) await store.del(key);
          else await store.set(key, `${writer}:${n}`, n % 13 === 0 ? { ttl: 600 } : {});
          acked++;
        } catch {
          // A typed failure of one write: the diff at the end compares what the source holds.
        }
      }
    }),
  );
  return acked;
}

/** A mirror `from` → `to` while writers change `from` for `ms`; then `polykv diff` must find nothing. */
async function mirrorUnderLoad(
  from: Store,
  to: Store,
  urls: [string, string],
  ms: number,
): Promise<{ acked: number; applied: number }> {
  const running: Mirror = mirror(from, to);
  const skipped: string[] = [];
  let applied = 0;
  running.on('skipped', (key, error: PolykvError) => skipped.push(`${key}: ${error.code}`));
  running.on('applied', () => applied++);
  running.on('error', () => undefined);
  try {
    await new Promise<void>((resolve) => running.once('synced', () => resolve()));
    const stop = new AbortController();
    const writing = writeUnderLoad(from, stop.signal);
    await new Promise((resolve) => setTimeout(resolve, ms));
    stop.abort();
    const acked = await writing;
    // The writers have stopped: the mirror catches up.
    await until(async () => running.backlog === 0 && (await differences(from, to)) === 0, 30_000, 'catch-up');
    const result = await cli(['diff', ...urls]);
    assert.equal(result.code, 0, `polykv diff: ${result.stdout}${result.stderr}`);
    assert.match(result.stderr, /no differences/);
    assert.deepEqual(skipped, [], 'nothing skipped');
    return { acked, applied };
  } finally {
    await running.close();
  }
}

describe('moving off etcd v2', { timeout: 120_000 }, () => {
  it('polykv copy: one v2 prefix into v3 on the same cluster, values, directories and TTLs; nothing outside the prefix', async () => {
    const v2 = createEtcdStore({ hosts: etcd.host, prefix: 'app' });
    const v2Other = createEtcdStore({ hosts: etcd.host, prefix: 'other' });
    const v3Root = createEtcd3Store({ hosts: etcd.host });
    try {
      await v2.set('db/host', 'db1.internal');
      await v2.set('db/port', '5432');
      await v2.set('feature/flags/beta', 'on');
      await v2.set('session/abc', 'token', { ttl: 600 });
      await v2.mkdir('empty');
      await v2Other.set('x', 'stays in v2');
      const copied = await cli(['copy', '--from', v2Url('app'), '--to', v3Url('app')]);
      assert.equal(copied.code, 0, copied.stderr);
      assert.match(copied.stdout, /copied 4 keys and 1 empty directory;/);
      const compared = await cli(['diff', v2Url('app'), v3Url('app')]);
      assert.equal(compared.code, 0, compared.stdout + compared.stderr);
      const listed = await v3Root.list('', { recursive: true });
      assert.deepEqual(
        listed.map((entry) => `${entry.key}${entry.dir ? '/' : ''}`),
        [
          'app/',
          'app/db/',
          'app/db/host',
          'app/db/port',
          'app/empty/',
          'app/feature/',
          'app/feature/flags/',
          'app/feature/flags/beta',
          'app/session/',
          'app/session/abc',
        ],
        'the prefix, and nothing from other/',
      );
      const session = await v3Root.get('app/session/abc');
      assert.ok(
        session?.expiresAt && session.expiresAt.getTime() > Date.now() + 500_000,
        'the TTL came along',
      );
      // A second run finds everything in place.
      const again = await cli(['copy', '--from', v2Url('app'), '--to', v3Url('app')]);
      assert.match(again.stdout, /copied 0 keys/);
    } finally {
      await Promise.all([v2.close(), v2Other.close(), v3Root.close()]);
    }
  });

  it('a live mirror v2 → v3 on the same cluster while writers change v2; after they stop, polykv diff finds nothing', async () => {
    const v2 = createEtcdStore({ hosts: etcd.host, prefix: 'live' });
    const v3 = createEtcd3Store({ hosts: etcd.host, prefix: 'live' });
    try {
      await v2.set('seed', 'before the mirror');
      const { acked, applied } = await mirrorUnderLoad(v2, v3, [v2Url('live'), v3Url('live')], 4000);
      assert.ok(
        acked > 100 && applied > 0,
        `writes went through the mirror (${acked} acknowledged, ${applied} applied)`,
      );
      assert.equal((await v3.get('seed'))?.value, 'before the mirror');
    } finally {
      await Promise.all([v2.close(), v3.close()]);
    }
  });

  it('the same from v3 to Consul, and back from Consul to v3', async () => {
    const v3 = createEtcd3Store({ hosts: etcd.host, prefix: 'onward' });
    const toConsul = createConsulStore({ client: { address: consul.address }, prefix: 'onward' });
    const back = createEtcd3Store({ hosts: etcd.host, prefix: 'back' });
    const fromConsul = createConsulStore({ client: { address: consul.address }, prefix: 'back' });
    try {
      await mirrorUnderLoad(v3, toConsul, [v3Url('onward'), consulUrl('onward')], 3000);
      await mirrorUnderLoad(fromConsul, back, [consulUrl('back'), v3Url('back')], 3000);
    } finally {
      await Promise.all([v3.close(), toConsul.close(), back.close(), fromConsul.close()]);
    }
  });
});
