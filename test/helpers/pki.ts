import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { makeDir } from './processes.js';

/** Runs openssl (installed on every machine of this project) and fails loudly if it fails. */
export function openssl(...args: string[]): void {
  execFileSync('openssl', args, { stdio: 'pipe' });
}

export interface Pki {
  ca: string;
  serverCert: string;
  serverKey: string;
  clientCert: string;
  clientKey: string;
  /** The files' contents, as clients take them. */
  read(name: 'ca' | 'serverCert' | 'serverKey' | 'clientCert' | 'clientKey'): Buffer;
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, made with openssl now. */
export function makePki(name: string): Pki {
  const dir = makeDir(`pki-${name}-${randomUUID().slice(0, 8)}`);
  const file = (base: string): string => join(dir, base);
  openssl(
    'req',
    '-x509',
    '-newkey',
    'rsa:2048',
    '-nodes',
    '-days',
    '2',
    '-subj',
    `/CN=${name} test CA`,
    '-keyout',
    file('ca.key'),
    '-out',
    file('ca.pem'),
  );
  const sign = (base: string, subject: string, ext: string): void => {
    openssl(
      'req',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-subj',
      subject,
      '-keyout',
      file(`${base}.key`),
      '-out',
      file(`${base}.csr`),
    );
    writeFileSync(file(`${base}.ext`), ext);
    openssl(
      'x509',
      '-req',
      '-in',
      file(`${base}.csr`),
      '-CA',
      file('ca.pem'),
      '-CAkey',
      file('ca.key'),
      '-CAcreateserial',
      '-days',
      '2',
      '-extfile',
      file(`${base}.ext`),
      '-out',
      file(`${base}.pem`),
    );
  };
  // Consul checks the server name "server.<dc>.consul" only with verify_server_hostname (off here).
  sign(
    'server',
    '/CN=127.0.0.1',
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:server.dc1.consul\nextendedKeyUsage=serverAuth,clientAuth\n',
  );
  sign('client', '/CN=client', 'extendedKeyUsage=clientAuth\n');
  const paths = {
    ca: file('ca.pem'),
    serverCert: file('server.pem'),
    serverKey: file('server.key'),
    clientCert: file('client.pem'),
    clientKey: file('client.key'),
  };
  return { ...paths, read: (key) => readFileSync(paths[key]) };
}
