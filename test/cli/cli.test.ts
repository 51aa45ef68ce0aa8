// The `polykv` command, run as a subprocess (`node packages/cli/dist/main.js ...`) against a real
// etcd member and a real Consul dev agent with ACLs on (token from CONSUL_HTTP_TOKEN).
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { probe, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { assertOneErrorLine, cli, killAll, startCli } from './run.js';

after(killAll);
after(stopAllServers);

describe('polykv against real etcd and Consul', { timeout: 300_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  let token: Record<string, string>;
  before(async () => {
    [etcd, consul] = await Promise.all([
      startEtcd(),
      startConsulDev({ acl: true, hcl: ['session_ttl_min = "1s"'] }),
    ]);
    token = { CONSUL_HTTP_TOKEN: consul.token! };
  });
  const backends = () => [
    { name: 'etcd', url: (prefix: string) => `etcd://${etcd.host}/${prefix}` },
    { name: 'consul', url: (prefix: string) => `consul://${consul.address}/${prefix}?minTtl=1` },
  ];

  it('put, get, ls, rm round trips with their exit codes (both backends)', async () => {
    for (const { name, url } of backends()) {
      const u = url('roundtrip');
      const env = token;
      assert.equal((await cli(['put', 'db/host', 'db.internal', '--url', u], { env })).code, 0, name);
      assert.equal((await cli(['put', 'db/port', '5432', '--url', u], { env })).code, 0);
      const stdin = await cli(['put', 'db/motd', '-', '--url', u], { env, input: 'line one\nline two\n' });
      assert.equal(stdin.code, 0);

      const got = await cli(['get', 'db/host', '--url', u], { env });
      assert.deepEqual([got.code, got.stdout, got.stderr], [0, 'db.internal\n', ''], name);
      assert.equal((await cli(['get', 'db/motd', '--url', u], { env })).stdout, 'line one\nline two\n\n');
      const json = JSON.parse((await cli(['get', 'db/port', '--json', '--url', u], { env })).stdout);
      assert.equal(json.key, 'db/port');
      assert.equal(json.value, '5432');
      assert.equal(typeof json.index, 'number');

      // POLYKV_URL instead of --url.
      const viaEnv = await cli(['get', 'db/host'], { env: { ...env, POLYKV_URL: u } });
      assert.equal(viaEnv.stdout, 'db.internal\n');

      const ls = await cli(['ls', '--url', u], { env });
      assert.deepEqual([ls.code, ls.stdout], [0, 'db/\n'], name);
      const lsr = await cli(['ls', 'db', '-r', '--url', u], { env });
      assert.equal(lsr.stdout, 'db/host\ndb/motd\ndb/port\n');
      const lsJson = JSON.parse((await cli(['ls', 'db', '--json', '--url', u], { env })).stdout) as {
        key: string;
        value: string;
      }[];
      assert.deepEqual(
        lsJson.map((entry) => [entry.key, entry.value]),
        [
          ['db/host', 'db.internal'],
          ['db/motd', 'line one\nline two\n'],
          ['db/port', '5432'],
        ],
      );
      assert.equal((await cli(['ls', 'nothing-here', '--url', u], { env })).stdout, '');

      const missing = await cli(['get', 'db/user', '--url', u], { env });
      assert.equal(missing.code, 3, name);
      assertOneErrorLine(missing, 'NOT_FOUND');
      assert.equal(missing.stdout, '');

      assert.equal((await cli(['rm', 'db/host', '--url', u], { env })).code, 0);
      assert.equal((await cli(['get', 'db/host', '--url', u], { env })).code, 3);
      const rmMissing = await cli(['rm', 'db/host', '--url', u], { env });
      assert.equal(rmMissing.code, 3);
      assertOneErrorLine(rmMissing, 'NOT_FOUND');
      assert.equal((await cli(['rm', 'db/host', '-f', '--url', u], { env })).code, 0);
      if (name === 'etcd') {
        // etcd has real directories: a non-empty one needs -r.
        const dir = await cli(['rm', 'db', '--url', u], { env });
        assert.equal(dir.code, 1);
        assertOneErrorLine(dir, 'IS_A_DIRECTORY');
      }
      assert.equal((await cli(['rm', 'db', '-r', '--url', u], { env })).code, 0);
      assert.equal((await cli(['ls', '-r', '--url', u], { env })).stdout, '');

      const ttl = await cli(['put', 'session/x', 'y', '--ttl', '30', '--json', '--url', u], { env });
      assert.equal(ttl.code, 0);
      assert.ok(JSON.parse(ttl.stdout).expiresAt, 'a TTL key has expiresAt');
    }
  });

  it('dump and load: a flat map, nested input flattened with /, --tree, and a round trip', async () => {
    for (const { name, url } of backends()) {
      const env = token;
      const input = JSON.stringify({
        database: { host: 'db.internal', port: 5432, pool: { max: 20 } },
        features: { 'dark-mode': false, banner: 'hi there' },
        'upstreams/payments': 'https://payments.internal',
        origins: ['a', 'b'],
      });
      const loaded = await cli(['load', '-', '--prefix', 'app', '--url', url('dumps')], { env, input });
      assert.equal(loaded.code, 0, `${name}: ${loaded.stderr}`);
      assert.match(loaded.stdout, /^loaded 7 keys into .* below app; failed 0$/m);

      const flat = await cli(['dump', '--prefix', 'app', '--url', url('dumps')], { env });
      assert.equal(flat.code, 0, `${name}: ${flat.stderr}`);
      const expected = {
        'database/host': 'db.internal',
        'database/pool/max': '20',
        'database/port': '5432',
        'features/banner': 'hi there',
        'features/dark-mode': 'false',
        origins: '["a","b"]',
        'upstreams/payments': 'https://payments.internal',
      };
      assert.deepEqual(JSON.parse(flat.stdout), expected, name);

      const tree = await cli(['dump', '--prefix', 'app', '--tree', '--url', url('dumps')], { env });
      assert.equal(tree.code, 0, `${name}: ${tree.stderr}`);
      assert.deepEqual(JSON.parse(tree.stdout), {
        database: { host: 'db.internal', pool: { max: '20' }, port: '5432' },
        features: { banner: 'hi there', 'dark-mode': 'false' },
        origins: '["a","b"]',
        upstreams: { payments: 'https://payments.internal' },
      });

      // The dump loads back elsewhere and compares equal.
      const again = await cli(['load', '--prefix', 'app', '--url', url('dumps-copy')], {
        env,
        input: flat.stdout,
      });
      assert.equal(again.code, 0);
      const same = await cli(['diff', url('dumps'), url('dumps-copy')], { env });
      assert.equal(same.code, 0, same.stdout + same.stderr);

      const bad = await cli(['load', '--url', url('dumps')], { env, input: '[1, 2]' });
      assert.equal(bad.code, 1);
      assertOneErrorLine(bad, 'BAD_INPUT');
      const notJson = await cli(['load', '--url', url('dumps')], { env, input: '{ nope' });
      assertOneErrorLine(notJson, 'BAD_INPUT');
      const noFile = await cli(['load', '/nonexistent/file.json', '--url', url('dumps')], { env });
      assert.equal(noFile.code, 1);
      assertOneErrorLine(noFile, 'ENOENT');
    }
  });

  it('copy (and its alias migrate) etcd → Consul: progress, summary, empty diff, skips, --overwrite, --dry-run', async () => {
    const env = token;
    const source = `etcd://${etcd.host}`;
    const target = `consul://${consul.address}`;
    const keys = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`k${String(i).padStart(2, '0')}`, `v${i}`]),
    );
    assert.equal(
      (await cli(['load', '--prefix', 'migration', '--url', source], { env, input: JSON.stringify(keys) }))
        .code,
      0,
    );

    const dry = await cli(['copy', '--from', source, '--to', target, '--prefix', 'migration', '--dry-run'], {
      env,
    });
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^dry run, nothing written: would copy 25 keys .*; would fail 0$/m);
    // Nothing is written, and the progress does not say otherwise.
    assert.match(dry.stderr, /^checking 100% \(25\/25\)  would copy 25, would skip 0, would fail 0$/m);
    assert.doesNotMatch(dry.stderr, /\bcopied\b/);
    assert.equal((await cli(['ls', 'migration', '--url', target], { env })).stdout, '');

    const copied = await cli(['copy', '--from', source, '--to', target, '--prefix', 'migration'], { env });
    assert.equal(copied.code, 0, copied.stderr);
    assert.match(
      copied.stdout,
      /^copied 25 keys and 0 empty directories; skipped 0 \(0 already the same, 0 hold another value, 0 expired\); failed 0\n$/,
    );
    // Not a terminal: one progress line per 10%, ending at 100%, on stderr.
    assert.match(
      copied.stderr,
      /^copying etcd:\/\/127\.0\.0\.1:\d+ -> consul:\/\/127\.0\.0\.1:\d+ \(prefix migration\)$/m,
    );
    assert.match(copied.stderr, /^copying 100% \(25\/25\)  copied 25, skipped 0, failed 0$/m);
    const progressLines = copied.stderr.split('\n').filter((line) => /^copying +\d+%/.test(line));
    assert.ok(progressLines.length >= 10 && progressLines.length <= 12, copied.stderr);

    const diff = await cli(['diff', source, target, '--prefix', 'migration'], { env });
    assert.deepEqual([diff.code, diff.stdout, diff.stderr], [0, '', 'no differences\n']);

    // A second run skips everything; a changed target key is kept and listed unless --overwrite.
    assert.equal((await cli(['put', 'migration/k03', 'changed', '--url', target], { env })).code, 0);
    assert.equal((await cli(['put', 'migration/extra', 'x', '--url', target], { env })).code, 0);
    assert.equal((await cli(['rm', 'migration/k07', '--url', target], { env })).code, 0);
    const differs = await cli(['diff', source, target, '--prefix', 'migration'], { env });
    assert.equal(differs.code, 1);
    assert.equal(differs.stdout, '- migration/k07\n+ migration/extra\n~ migration/k03\n');
    assert.match(differs.stderr, /^3 differences: 1 only in A/);

    const again = await cli(['migrate', '--from', source, '--to', target, '--prefix', 'migration'], { env });
    assert.equal(again.code, 0);
    assert.match(
      again.stdout,
      /^copied 1 key and 0 empty directories; skipped 24 \(23 already the same, 1 hold another value, 0 expired\)/,
    );
    assert.match(again.stdout, /^ {2}exists {2}migration\/k03 /m);
    assert.equal((await cli(['get', 'migration/k03', '--url', target], { env })).stdout, 'changed\n');

    const forced = await cli(
      ['copy', '--from', source, '--to', target, '--prefix', 'migration', '--overwrite', '--json'],
      { env },
    );
    assert.equal(forced.code, 0);
    const summary = JSON.parse(forced.stdout);
    assert.deepEqual(summary.copied, ['migration/k03']);
    assert.deepEqual(summary.failed, []);
    assert.equal((await cli(['get', 'migration/k03', '--url', target], { env })).stdout, 'v3\n');
    const onlyExtra = await cli(['diff', source, target, '--prefix', 'migration'], { env });
    assert.deepEqual([onlyExtra.code, onlyExtra.stdout], [1, '+ migration/extra\n']);
  });

  it('copy exits with 1 and lists each key that failed (a Consul token that may only read)', async () => {
    const master = { 'X-Consul-Token': consul.token!, 'content-type': 'application/json' };
    const policy = await probe(`${consul.url}/v1/acl/policy`, {
      method: 'PUT',
      headers: master,
      body: JSON.stringify({ Name: 'cli-read-only', Rules: 'key_prefix "" { policy = "read" }' }),
    });
    assert.equal(policy.status, 200, policy.body);
    const created = await probe(`${consul.url}/v1/acl/token`, {
      method: 'PUT',
      headers: master,
      body: JSON.stringify({ Policies: [{ Name: 'cli-read-only' }] }),
    });
    assert.equal(created.status, 200, created.body);
    const readOnly = (JSON.parse(created.body) as { SecretID: string }).SecretID;

    const source = `etcd://${etcd.host}`;
    const input = JSON.stringify({ a: '1', b: '2', c: { d: '3' } });
    assert.equal((await cli(['load', '--prefix', 'denied', '--url', source], { input })).code, 0);
    const result = await cli(
      ['copy', '--from', source, '--to', `consul://${consul.address}`, '--prefix', 'denied'],
      {
        env: { CONSUL_HTTP_TOKEN: readOnly },
      },
    );
    assert.equal(result.code, 1, result.stderr);
    assert.match(result.stdout, /^copied 0 keys and 0 empty directories; skipped 0 .*; failed 3$/m);
    // The code is the Consul Store's to choose (PERMISSION_DENIED by the contract; the in-progress
    // store says ALREADY_EXISTS for a refused create); the CLI's job is one line per failed key.
    for (const key of ['denied/a', 'denied/b', 'denied/c/d'])
      assert.match(result.stdout, new RegExp(`^  failed  ${key}  [A-Z_]+: `, 'm'));
    assert.match(result.stderr, /^copying 100% \(3\/3\)  copied 0, skipped 0, failed 3$/m);
    assert.doesNotMatch(result.stdout + result.stderr, new RegExp(readOnly));
  });

  it('watch prints one line per event, JSON with --json, and closes cleanly on SIGINT (both backends)', async () => {
    for (const { name, url } of backends()) {
      const env = token;
      const u = url('watched');
      const watch = startCli(['watch', 'cfg', '-r', '--url', u], { env });
      await watch.waitFor('stderr', /^watching cfg and everything below it/m);
      assert.equal((await cli(['put', 'cfg/a', 'one two', '--url', u], { env })).code, 0);
      await watch.waitFor('stdout', /^put cfg\/a = one two \(index \d+\)$/m);
      assert.equal((await cli(['rm', 'cfg/a', '--url', u], { env })).code, 0);
      await watch.waitFor('stdout', /^delete cfg\/a \(index \d+\)$/m);
      watch.child.kill('SIGINT');
      const result = await watch.exited;
      assert.equal(result.code, 130, `${name}: ${result.stderr}`);
      assert.doesNotMatch(result.stderr, /polykv: /, 'no error line');
      assert.equal(result.stdout.trim().split('\n').length, 2, result.stdout);

      // --json and --from-index: etcd replays both events; Consul keeps no history, so the watcher
      // re-reads the state and reports a resync (the key is gone again: nothing else to report).
      const firstIndex = Number(/index (\d+)/.exec(result.stdout)![1]);
      const replay = startCli(
        ['watch', 'cfg', '-r', '--json', '--from-index', String(firstIndex), '--url', u],
        {
          env,
        },
      );
      await replay.waitFor('stdout', name === 'etcd' ? /"type":"delete"/ : /"type":"resync"/);
      replay.child.kill('SIGTERM');
      const replayed = await replay.exited;
      assert.equal(replayed.code, 143);
      const events = replayed.stdout
        .trim()
        .split('\n')
        .map((line) => JSON.parse(line) as { type: string; key?: string; value?: string });
      assert.deepEqual(
        events.map(({ type, key, value }) => [type, key, value]),
        name === 'etcd'
          ? [
              ['put', 'cfg/a', 'one two'],
              ['delete', 'cfg/a', undefined],
            ]
          : [['resync', undefined, undefined]],
      );
    }
  });

  it('lock -- <cmd> runs the command under the lock; a second lock --wait 0 gets 4; the exit code passes through', async () => {
    for (const { name, url } of backends()) {
      const env = token;
      const u = url('locks');
      // The command holds the lock until the test creates `done` (not for a fixed time: on a loaded
      // machine the second CLI may take longer than any fixed time just to start).
      const done = join(mkdtempSync(join(tmpdir(), 'polykv-cli-lock-')), 'done');
      const holder = startCli(
        [
          'lock',
          'jobs/report',
          '--url',
          u,
          '--',
          process.execPath,
          '-e',
          `console.log("running", process.env.POLYKV_LOCK_KEY, process.env.POLYKV_FENCING_TOKEN);
           const t = setInterval(() => { if (require("fs").existsSync(${JSON.stringify(done)})) { clearInterval(t); process.exit(7); } }, 50);
           setTimeout(() => process.exit(9), 60000);`,
        ],
        { env },
      );
      await holder.waitFor('stdout', /^running jobs\/report \d+$/m);
      const second = await cli(
        [
          'lock',
          'jobs/report',
          '--wait',
          '0',
          '--url',
          u,
          '--',
          process.execPath,
          '-e',
          'console.log("ran")',
        ],
        {
          env,
        },
      );
      assert.equal(second.code, 4, `${name}: ${second.stderr}`);
      assert.equal(second.stdout, '', 'the second command did not run');
      assertOneErrorLine(second, 'TIMEOUT');
      writeFileSync(done, '');
      const first = await holder.exited;
      assert.equal(first.code, 7, `${name}: the command's exit code: ${first.stderr}`);
      assert.equal(first.stderr, '');

      // Released: the next holder gets it at once, with a larger fencing token.
      const next = await cli(
        [
          'lock',
          'jobs/report',
          '--wait',
          '0',
          '--url',
          u,
          '--',
          process.execPath,
          '-e',
          'console.log(process.env.POLYKV_FENCING_TOKEN)',
        ],
        { env },
      );
      assert.equal(next.code, 0, next.stderr);
      assert.ok(Number(next.stdout) > Number(/\d+$/m.exec(first.stdout)![0]), 'fencing token grows');

      const notFound = await cli(['lock', 'jobs/report', '--url', u, '--', 'polykv-no-such-command'], {
        env,
      });
      assert.equal(notFound.code, 127);
      assertOneErrorLine(notFound, 'ENOENT');
      const killed = await cli(['lock', 'jobs/report', '--url', u, '--', 'sh', '-c', 'kill -9 $$'], { env });
      assert.equal(killed.code, 128 + 9);
    }
  });

  it('lock: when the lock is lost, the command is stopped and polykv exits with 4 (both backends)', async () => {
    const takeAway = {
      // The lock key lives in the reserved .polykv/ space of the URL's prefix; its renewal finds it gone.
      etcd: async () => {
        const removed = await probe(`${etcd.clientUrl}/v2/keys/lost/.polykv?recursive=true`, {
          method: 'DELETE',
        });
        assert.equal(removed.status, 200, removed.body);
      },
      // Destroying the lock's session releases the key behind the holder's back.
      consul: async () => {
        const headers = { 'X-Consul-Token': consul.token! };
        const sessions = JSON.parse((await probe(`${consul.url}/v1/session/list`, { headers })).body) as {
          ID: string;
        }[];
        assert.ok(sessions.length > 0, 'the holder has a session');
        for (const { ID } of sessions)
          await probe(`${consul.url}/v1/session/destroy/${ID}`, { method: 'PUT', headers });
      },
    };
    for (const { name, url } of backends()) {
      const holder = startCli(
        [
          'lock',
          'jobs/x',
          '--ttl',
          '3',
          '--url',
          url('lost'),
          '--',
          process.execPath,
          '-e',
          'process.on("SIGTERM", () => { console.log("stopped"); process.exit(0); }); console.log("holding"); setInterval(() => {}, 1000)',
        ],
        { env: token },
      );
      await holder.waitFor('stdout', /^holding$/m);
      await takeAway[name as 'etcd' | 'consul']();
      const result = await holder.exited;
      assert.equal(result.code, 4, `${name}: ${result.stderr}`);
      assert.match(result.stdout, /^stopped$/m, 'the command got SIGTERM');
      assertOneErrorLine(result, 'LOCK_LOST');
    }
  });

  it('etcd basic auth comes from the URL; a wrong password is one line without the password', async () => {
    const secured = await startEtcd();
    const json = { 'content-type': 'application/json' };
    const user = await probe(`${secured.clientUrl}/v2/auth/users/root`, {
      method: 'PUT',
      headers: json,
      body: JSON.stringify({ user: 'root', password: 'pa55-w0rd' }),
    });
    assert.ok(user.status === 200 || user.status === 201, user.body);
    // Guests may do nothing once auth is on: only the URL's credentials let the CLI in.
    assert.equal((await probe(`${secured.clientUrl}/v2/auth/enable`, { method: 'PUT' })).status, 200);
    const rootAuth = { Authorization: `Basic ${Buffer.from('root:pa55-w0rd').toString('base64')}` };
    const guest = await probe(`${secured.clientUrl}/v2/auth/roles/guest`, {
      method: 'PUT',
      headers: { ...json, ...rootAuth },
      body: JSON.stringify({ role: 'guest', revoke: { kv: { read: ['/*'], write: ['/*'] } } }),
    });
    assert.equal(guest.status, 200, guest.body);

    const good = `etcd://root:pa55-w0rd@${secured.host}/auth`;
    assert.equal((await cli(['put', 'k', 'v', '--url', good])).code, 0);
    assert.equal((await cli(['get', 'k', '--url', good])).stdout, 'v\n');
    const anonymous = await cli(['get', 'k', '--url', `etcd://${secured.host}/auth`]);
    assert.equal(anonymous.code, 1);
    assertOneErrorLine(anonymous, 'PERMISSION_DENIED');
    const wrong = await cli(['get', 'k', '--url', `etcd://root:wr0ng-pa55@${secured.host}/auth`]);
    assert.equal(wrong.code, 1);
    assertOneErrorLine(wrong, 'PERMISSION_DENIED');
    assert.doesNotMatch(wrong.stderr, /wr0ng-pa55/);
    await secured.stop();
  });

  it('errors are one line and never show the token or a password', async () => {
    const secretToken = 'deadbeef-1111-4222-8333-444455556666';
    const denied = await cli(['get', 'x', '--url', `consul://${consul.address}`], {
      env: { CONSUL_HTTP_TOKEN: secretToken },
    });
    assert.equal(denied.code, 1);
    assertOneErrorLine(denied, 'PERMISSION_DENIED');
    assert.doesNotMatch(denied.stderr, new RegExp(secretToken));

    const inUrl = await cli(['get', 'x', '--url', `consul://${consul.address}?token=${secretToken}`]);
    assertOneErrorLine(inUrl, 'PERMISSION_DENIED');
    assert.doesNotMatch(inUrl.stderr, new RegExp(secretToken));

    const debug = await cli(['get', 'x', '--url', `consul://${consul.address}`], {
      env: { CONSUL_HTTP_TOKEN: secretToken, POLYKV_DEBUG: '1' },
    });
    assert.match(debug.stderr, /^polykv: PERMISSION_DENIED: /);
    assert.match(debug.stderr, /\n\s+at /, 'POLYKV_DEBUG=1 shows the stack');
    assert.doesNotMatch(debug.stderr, new RegExp(secretToken));

    const refused = await cli(['get', 'x', '--url', 'etcd://bob:hunter22@127.0.0.1:1']);
    assert.equal(refused.code, 1);
    assertOneErrorLine(refused, 'UNAVAILABLE');
    assert.doesNotMatch(refused.stderr, /hunter22/);
  });
});
