import assert from 'node:assert/strict';
import { inspect } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { isPolykvError, openStore, type OpenStoreOptions, type Store } from '@polykv/core';
import { ConsulClient } from '@polykv/consul';
import { freePort, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, type ConsulAgent } from '../helpers/servers.js';
import { makePki, startTlsEtcd, type Pki } from './pki.js';

// Issue 8, security: TLS verification is on by default for etcds:// and consuls://; a wrong CA fails
// with a clear error; mTLS with client certificates made with openssl here, for etcd and Consul.
// (test/etcd/tls-auth.test.ts covers the native etcd client's TLS options; this is the Store side.)

after(stopAllServers);

let good: Pki;
let other: Pki;
let etcdPort: number;
let consul: ConsulAgent;
let consulHttps: number;

before(async () => {
  good = makePki('good');
  other = makePki('other');
  consulHttps = await freePort();
  const [etcd, agent] = await Promise.all([
    startTlsEtcd(good, true),
    startConsulDev({
      hcl: [
        `ports { https = ${consulHttps} }`,
        `ca_file = "${good.ca}"`,
        `cert_file = "${good.serverCert}"`,
        `key_file = "${good.serverKey}"`,
        'verify_incoming_https = true',
      ],
    }),
  ]);
  etcdPort = etcd.httpsPort;
  consul = agent;
});

/** The error of a first call through a fresh store (or of opening it). */
async function firstCallError(url: string, options: OpenStoreOptions): Promise<unknown> {
  let store: Store | undefined;
  try {
    const opened = await openStore(url, options);
    store = opened;
    await opened.get('k', { timeout: 5000 });
    return undefined;
  } catch (error) {
    return error;
  } finally {
    await store?.close();
  }
}

/** The whole error, causes and per-host failures included, as one string. */
function everything(error: unknown): string {
  return `${String(error)} ${inspect(error, { depth: 8 })}`;
}

function assertCertificateError(error: unknown, what: string): void {
  assert.ok(isPolykvError(error), `${what}: a typed error, got ${String(error)}`);
  assert.equal(error.code, 'UNAVAILABLE', `${what}: ${error.code} ${error.message}`);
  assert.match(
    everything(error),
    /certificate|self[- ]signed|UNABLE_TO_VERIFY|CERT_/i,
    `${what}: the error names the certificate problem`,
  );
}

describe('TLS: etcds://', () => {
  const noRetry = { maxRetries: 0, connectTimeout: 2000 };

  it('verification is on by default: no CA given fails with a certificate error', async () => {
    const error = await firstCallError(`etcds://127.0.0.1:${etcdPort}/tls`, {
      etcd: { ...noRetry, tls: { cert: good.read('clientCert'), key: good.read('clientKey') } },
    });
    assertCertificateError(error, 'no CA');
  });

  it('a wrong CA fails with a certificate error', async () => {
    const error = await firstCallError(`etcds://127.0.0.1:${etcdPort}/tls`, {
      etcd: {
        ...noRetry,
        tls: { ca: other.read('ca'), cert: good.read('clientCert'), key: good.read('clientKey') },
      },
    });
    assertCertificateError(error, 'wrong CA');
  });

  it('mTLS: the right CA and a client certificate work; without the client certificate the server refuses', async () => {
    const store = await openStore(`etcds://127.0.0.1:${etcdPort}/tls`, {
      etcd: { tls: { ca: good.read('ca'), cert: good.read('clientCert'), key: good.read('clientKey') } },
    });
    try {
      await store.set('k', 'secure');
      assert.equal((await store.get('k'))?.value, 'secure');
    } finally {
      await store.close();
    }
    const error = await firstCallError(`etcds://127.0.0.1:${etcdPort}/tls`, {
      etcd: { ...noRetry, tls: { ca: good.read('ca') } },
    });
    assert.ok(isPolykvError(error), `no client certificate: a typed error, got ${String(error)}`);
    assert.ok(['UNAVAILABLE', 'PERMISSION_DENIED'].includes(error.code), `${error.code}: ${error.message}`);
  });

  it('a client certificate from another CA is refused', async () => {
    const error = await firstCallError(`etcds://127.0.0.1:${etcdPort}/tls`, {
      etcd: {
        ...noRetry,
        tls: { ca: good.read('ca'), cert: other.read('clientCert'), key: other.read('clientKey') },
      },
    });
    assert.ok(isPolykvError(error), `foreign client certificate: a typed error, got ${String(error)}`);
    assert.ok(['UNAVAILABLE', 'PERMISSION_DENIED'].includes(error.code), `${error.code}: ${error.message}`);
  });
});

describe('TLS: consuls://', () => {
  const url = (): string => `consuls://127.0.0.1:${consulHttps}/tls`;

  it('verification is on by default: no CA given fails with a certificate error', async () => {
    const error = await firstCallError(url(), {
      consul: { client: { tls: { cert: good.read('clientCert'), key: good.read('clientKey') } } },
    });
    assertCertificateError(error, 'no CA');
  });

  it('a wrong CA fails with a certificate error', async () => {
    const error = await firstCallError(url(), {
      consul: {
        client: { tls: { ca: other.read('ca'), cert: good.read('clientCert'), key: good.read('clientKey') } },
      },
    });
    assertCertificateError(error, 'wrong CA');
  });

  it('mTLS: the right CA and a client certificate work; without the client certificate the agent refuses', async () => {
    const store = await openStore(url(), {
      consul: {
        client: { tls: { ca: good.read('ca'), cert: good.read('clientCert'), key: good.read('clientKey') } },
      },
    });
    try {
      await store.set('k', 'secure');
      assert.equal((await store.get('k'))?.value, 'secure');
    } finally {
      await store.close();
    }
    // The same agent's plain http port holds the value too: it is one agent.
    const plain = new ConsulClient({ address: consul.address });
    assert.equal(Buffer.from((await plain.kv.get('tls/k')).data?.Value ?? []).toString(), 'secure');
    await plain.close();

    const error = await firstCallError(url(), { consul: { client: { tls: { ca: good.read('ca') } } } });
    assert.ok(isPolykvError(error), `no client certificate: a typed error, got ${String(error)}`);
    assert.ok(['UNAVAILABLE', 'PERMISSION_DENIED'].includes(error.code), `${error.code}: ${error.message}`);
  });
});
