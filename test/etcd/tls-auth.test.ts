import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { isPolykvError, openStore } from '@polykv/core';
import { AllHostsFailedError, createEtcdStore, EtcdClient, isEtcdError } from '@polykv/etcd';
import { makeDir, stopAllServers } from '../helpers/processes.js';
import { startEtcd } from '../helpers/servers.js';
import { makePki, openssl } from '../helpers/pki.js';
import { startCustomEtcd } from './util.js';

after(stopAllServers);

describe('etcd TLS and basic auth', { timeout: 180_000 }, () => {
  it('TLS with a CA and client certificates; a wrong CA fails with a clear error', async () => {
    const dir = makeDir('pki');
    const pki = makePki('good');
    const other = makePki('other');
    const { member, extra } = await startCustomEtcd(({ http, extra: port }) => ({
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
    const host = `https://127.0.0.1:${extra}`;
    const tls = {
      ca: readFileSync(pki.ca),
      cert: readFileSync(pki.clientCert),
      key: readFileSync(pki.clientKey),
    };
    const client = new EtcdClient({ hosts: host, tls });
    try {
      await client.keys.set('tls/k', 'secure');
      assert.equal((await client.keys.get('tls/k')).node.value, 'secure');
      // A host without a scheme is https:// when `tls` is given (as in the v3 client).
      const bare = new EtcdClient({ hosts: `127.0.0.1:${extra}`, tls });
      assert.deepEqual(bare.hosts, [host]);
      assert.equal((await bare.keys.get('tls/k')).node.value, 'secure');
      await bare.close();
      const store = await openStore(`etcds://127.0.0.1:${extra}/tls`, { etcd: { tls } });
      assert.equal((await store.get('k'))?.value, 'secure');
      await store.close();

      const wrongCa = new EtcdClient({
        hosts: host,
        tls: { ...tls, ca: readFileSync(other.ca) },
        maxRetries: 0,
      });
      const error = await wrongCa.keys.get('tls/k').catch((caught: unknown) => caught);
      assert.ok(error instanceof AllHostsFailedError);
      const cause = error.errors[0]!.error as { code?: string; message: string };
      assert.match(String(cause.code), /CERT|SIGNATURE|ISSUER/, `a certificate error, got ${cause.code}`);
      assert.match(error.message, /certificate/i, 'the message names the certificate problem');
      await wrongCa.close();

      // An encrypted client key, opened with its passphrase.
      const encrypted = join(dir, 'client-encrypted.key');
      openssl('pkey', '-in', pki.clientKey, '-aes256', '-passout', 'pass:s3cret', '-out', encrypted);
      const withPassphrase = new EtcdClient({
        hosts: host,
        tls: { ...tls, key: readFileSync(encrypted), passphrase: 's3cret' },
      });
      assert.equal((await withPassphrase.keys.get('tls/k')).node.value, 'secure');
      await withPassphrase.close();

      const noClientCert = new EtcdClient({ hosts: host, tls: { ca: tls.ca }, maxRetries: 0 });
      await assert.rejects(noClientCert.keys.get('tls/k'), (caught: unknown) => isEtcdError(caught));
      await noClientCert.close();
    } finally {
      await client.close();
      await member.stop();
    }
  });

  it('basic auth with v2 auth enabled', async () => {
    const member = await startEtcd();
    const admin = new EtcdClient({ hosts: member.host, auth: { username: 'root', password: 'rootpw' } });
    const anonymous = new EtcdClient({ hosts: member.host });
    try {
      await anonymous.auth.putUser('root', { password: 'rootpw' });
      await anonymous.auth.enable();
      assert.equal(await admin.auth.enabled(), true);
      // The guest role can do everything until its rights are revoked.
      await admin.auth.putRole('guest', { revoke: { kv: { read: ['/*'], write: ['/*'] } } });
      await admin.auth.putRole('reader', {});
      await admin.auth.putRole('reader', { grant: { kv: { read: ['/app/*'] } } });
      await admin.auth.putUser('alice', { password: 'alicepw' });
      await admin.auth.putUser('alice', { grant: ['reader'] });
      assert.deepEqual((await admin.auth.users()).map((user) => user.user).sort(), ['alice', 'root']);
      assert.ok((await admin.auth.roles()).some((role) => role.role === 'reader'));
      assert.deepEqual(
        (await admin.auth.user('alice')).roles?.map((role) => (typeof role === 'string' ? role : role.role)),
        ['reader'],
      );

      await admin.keys.set('app/config', 'v');
      await assert.rejects(anonymous.keys.get('app/config'), (error: unknown) => {
        assert.ok(isEtcdError(error));
        assert.equal(error.code, 'ETCD_UNAUTHORIZED');
        assert.equal(error.errorCode, 110);
        return true;
      });
      const alice = createEtcdStore({
        hosts: member.host,
        auth: { username: 'alice', password: 'alicepw' },
        prefix: 'app',
      });
      assert.equal((await alice.get('config'))?.value, 'v');
      await assert.rejects(
        alice.set('config', 'w'),
        (error: unknown) => isPolykvError(error) && error.code === 'PERMISSION_DENIED',
      );
      await alice.close();
      const wrong = await openStore(`etcd://alice:nope@${member.host}/app`);
      await assert.rejects(
        wrong.get('config'),
        (error: unknown) => isPolykvError(error) && error.code === 'PERMISSION_DENIED',
      );
      await wrong.close();
      const byUrl = await openStore(`etcd://root:rootpw@${member.host}/app`);
      await byUrl.set('config', 'w');
      assert.equal((await byUrl.get('config'))?.value, 'w');
      await byUrl.close();

      await admin.auth.removeUser('alice');
      await admin.auth.removeRole('reader');
      await admin.auth.disable();
      assert.equal(await anonymous.auth.enabled(), false);
    } finally {
      await admin.close();
      await anonymous.close();
      await member.stop();
    }
  });
});
