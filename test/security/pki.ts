import type { Pki } from '../helpers/pki.js';
import { startCustomEtcd, type EtcdMember } from '../helpers/servers.js';

export { makePki, type Pki } from '../helpers/pki.js';

/**
 * One etcd member serving its client API over https only (with client certificates required when
 * `clientCertAuth`), and plain http on a second listener for the readiness probe.
 */
export async function startTlsEtcd(
  pki: Pki,
  clientCertAuth: boolean,
): Promise<{ member: EtcdMember; httpsPort: number }> {
  const { member, extra } = await startCustomEtcd(({ http, extra: https }) => ({
    listen: [`http://127.0.0.1:${http}`, `https://127.0.0.1:${https}`],
    advertise: [`https://127.0.0.1:${https}`],
    args: [
      '--cert-file',
      pki.serverCert,
      '--key-file',
      pki.serverKey,
      ...(clientCertAuth ? ['--trusted-ca-file', pki.ca, '--client-cert-auth'] : []),
    ],
  }));
  return { member, httpsPort: extra };
}
