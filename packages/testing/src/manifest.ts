/** The servers this package can find or install, by kind. */
export type ServerKind = 'etcd' | 'consul' | 'etcdctl';

/** One pinned Debian package that holds a server binary. */
export interface ServerPackage {
  /** The Debian package name, e.g. `etcd-server`. */
  package: string;
  /** The exact Debian version; the installer downloads this one only. */
  version: string;
  /** The sha256 of the `.deb`; a download with any other digest is refused. */
  sha256: string;
  /** The binary's path inside the package. */
  binary: string;
  /** The environment variable that points at a binary to use instead. */
  envOverride: string;
  /** The arguments that make the binary print its version (a post-install check). */
  versionArgs: string[];
}

/**
 * The exact builds polykv is tested against: etcd 3.4.23 (Debian bookworm), Consul 1.8.7 (Debian
 * bullseye) and etcdctl 3.4.23 (the official etcd client, for interop tests). The sha256 of each
 * `.deb` is pinned so that a changed archive is noticed, not silently run.
 */
export const SERVER_MANIFEST: {
  /** The Debian suites the packages come from (etcd and etcdctl: bookworm; Consul: bullseye). */
  readonly suites: readonly string[];
  /** The archive component of those suites. */
  readonly component: string;
  /** The keyring apt checks the Debian archive's signatures against. */
  readonly keyring: string;
  /** Each binary's pinned package, by kind. */
  readonly packages: Readonly<Record<ServerKind, ServerPackage>>;
} = {
  suites: ['bookworm', 'bullseye'],
  component: 'main',
  keyring: '/usr/share/keyrings/debian-archive-keyring.gpg',
  packages: {
    etcd: {
      package: 'etcd-server',
      version: '3.4.23-4+b4',
      sha256: '3a9445d4560ad6de1c375756b2a17d97713df44cbd20a658c871fe108af7ef5d',
      binary: 'usr/bin/etcd',
      envOverride: 'POLYKV_ETCD_BIN',
      versionArgs: ['--version'],
    },
    consul: {
      package: 'consul',
      version: '1.8.7+dfsg1-2+b3',
      sha256: 'e4e888bba104daba1d9161f49bfc52649a7e4efd45b1a7ead5bc54f2cb9c89d9',
      binary: 'usr/bin/consul',
      envOverride: 'POLYKV_CONSUL_BIN',
      versionArgs: ['--version'],
    },
    etcdctl: {
      package: 'etcd-client',
      version: '3.4.23-4+b4',
      sha256: 'db3a484d5d924b50bf71f459ee544ecd7b11c25dc2f6becc0c50352d67299cc8',
      binary: 'usr/bin/etcdctl',
      envOverride: 'POLYKV_ETCDCTL_BIN',
      // etcdctl 3.4 speaks v3 by default, where the version is a command, not a flag.
      versionArgs: ['version'],
    },
  },
};
