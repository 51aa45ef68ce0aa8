import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { after, describe, it } from 'node:test';
import { Etcd3Client } from '@polykv/etcd3';
import { makePki } from '../helpers/pki.js';
import { stopAllServers } from '../helpers/processes.js';
import { startCustomEtcd, startEtcd } from '../helpers/servers.js';
import { etcd3Code, text } from './util.js';

after(stopAllServers);

describe('etcd v3 auth and TLS', { timeout: 180_000 }, () => {
  it('auth turned on through the API: users, roles, permissions; a token that expired is renewed', async () => {
    // Tokens expire after 2 s unused, so the test sees a renewal.
    const member = await startEtcd({ extraArgs: ['--auth-token-ttl', '2'] });
    const admin = new Etcd3Client({ hosts: member.host });
    await admin.auth.addUser('root', 'rootpw');
    await admin.auth.addRole('root').catch(() => undefined); // etcd may know the root role already
    await admin.auth.grantRole('root', 'root');
    await admin.auth.addUser('app', 'apppw');
    await admin.auth.addRole('app');
    await admin.auth.grantPermission('app', { type: 'readwrite', key: 'app/', prefix: true });
    await admin.auth.grantRole('app', 'app');
    await admin.auth.enable();
    await admin.close();

    const root = new Etcd3Client({ hosts: member.host, auth: { username: 'root', password: 'rootpw' } });
    const app = new Etcd3Client({ hosts: member.host, auth: { username: 'app', password: 'apppw' } });
    const anonymous = new Etcd3Client({ hosts: member.host });
    const wrong = new Etcd3Client({ hosts: member.host, auth: { username: 'app', password: 'nope' } });
    try {
      assert.deepEqual((await root.auth.users()).sort(), ['app', 'root']);
      assert.deepEqual((await root.auth.roles()).sort(), ['app', 'root']);
      assert.deepEqual((await root.auth.getUser('app')).roles, ['app']);
      const { permissions } = await root.auth.getRole('app');
      assert.deepEqual(
        permissions.map((p) => [p.type, text(p.key), text(p.rangeEnd)]),
        [['readwrite', 'app/', 'app0']],
      );
      await app.kv.put('app/k', 'v');
      assert.equal(text((await app.kv.get('app/k'))?.value), 'v');
      await assert.rejects(app.kv.put('other/k', 'v'), etcd3Code('ETCD3_PERMISSION_DENIED'));
      await assert.rejects(anonymous.kv.get('app/k'), etcd3Code('ETCD3_PERMISSION_DENIED'));
      await assert.rejects(wrong.kv.get('app/k'), etcd3Code('ETCD3_AUTH_FAILED'));
      // Unused for longer than --auth-token-ttl: etcd forgot the token; the client authenticates again.
      await new Promise((resolve) => setTimeout(resolve, 4000));
      assert.equal(text((await app.kv.get('app/k'))?.value), 'v');
      const watcher = app.watch('app/', { prefix: true });
      await watcher.ready;
      await root.kv.put('app/w', 'seen');
      const [event] = await new Promise<Parameters<Parameters<typeof watcher.on<'events'>>[1]>>((resolve) =>
        watcher.once('events', (...args) => resolve(args)),
      );
      assert.equal(text(event[0]!.kv.value), 'seen');
      await watcher.cancel();
      await root.auth.changePassword('app', 'newpw');
      await root.auth.revokeRole('app', 'app');
      await root.auth.disable();
      await root.auth.deleteUser('app');
      await root.auth.deleteRole('app');
    } finally {
      await Promise.all([root.close(), app.close(), anonymous.close(), wrong.close()]);
    }
  });

  it('TLS with a CA and a client certificate; a wrong CA fails before anything is sent', async () => {
    const pki = makePki('etcd3');
    const other = makePki('etcd3-other');
    const { extra } = await startCustomEtcd(({ http, extra: port }) => ({
      listen: [`http://127.0.0.1:${http}`, `https://127.0.0.1:${port}`],
      advertise: [`https://127.0.0.1:${port}`],
      args: [
        '--cert-file',
        pki.serverCert,
        '--key-file',
        pki.serverKey,
        '--trusted-ca-file',
        pki.ca,
        '--client-cert-auth',
      ],
    }));
    const tls = {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    };
    const client = new Etcd3Client({ hosts: `https://127.0.0.1:${extra}`, tls });
    const wrongCa = new Etcd3Client({
      hosts: `https://127.0.0.1:${extra}`,
      tls: { ...tls, ca: readFileSync(other.ca) },
      maxRetries: 0,
    });
    try {
      await client.kv.put('tls/k', 'secure');
      assert.equal(text((await client.kv.get('tls/k'))?.value), 'secure');
      const watcher = client.watch('tls/k');
      await watcher.ready;
      await watcher.cancel();
      const error = await wrongCa.kv.put('tls/k', 'x').catch((caught: unknown) => caught);
      etcd3Code('ETCD3_UNAVAILABLE')(error);
      assert.match((error as Error).message, /certificate/i);
    } finally {
      await client.close();
      await wrongCa.close();
    }
  });
});
