import { randomUUID } from 'node:crypto';
import { freePorts, makeDir } from '../helpers/processes.js';
import { EtcdMember } from '../helpers/servers.js';
import type { Pki } from '../helpers/pki.js';

export { makePki, type Pki } from '../helpers/pki.js';

/**
 * One etcd member serving its client API over https only (with client certificates required when
 * `clientCertAuth`), and plain http on a second listener for the readiness probe.
 */
export async function startTlsEtcd(
  pki: Pki,
  clientCertAuth: boolean,
): Promise<{ member: EtcdMember; httpsPort: number }> {
  const [http, https, peer] = await freePorts(3);
  const name = 'tls';
  const workDir = makeDir(`etcd-tls-${randomUUID().slice(0, 8)}`);
  const peerUrl = `http://127.0.0.1:${peer}`;
  const member = new EtcdMember(
    name,
    [
      '--name',
      name,
      '--data-dir',
      `${workDir}/data`,
      '--listen-client-urls',
      `http://127.0.0.1:${http},https://127.0.0.1:${https}`,
      '--advertise-client-urls',
      `https://127.0.0.1:${https}`,
      '--listen-peer-urls',
      peerUrl,
      '--initial-advertise-peer-urls',
      peerUrl,
      '--initial-cluster',
      `${name}=${peerUrl}`,
      '--initial-cluster-state',
      'new',
      '--enable-v2=true',
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
      ...(clientCertAuth ? ['--trusted-ca-file', pki.ca, '--client-cert-auth'] : []),
    ],
    workDir,
    `http://127.0.0.1:${http}`,
    peerUrl,
  );
  member.start();
  try {
    await member.waitReady();
  } catch (error) {
    await member.kill();
    throw error;
  }
  return { member, httpsPort: https! };
}
