// Where the test servers (and etcdctl) live. Shared by the installer and the test helpers so
// that both agree on one cache layout; a developer who has the binaries elsewhere points
// POLYKV_ETCD_BIN / POLYKV_CONSUL_BIN / POLYKV_ETCDCTL_BIN at them instead.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export const manifest = JSON.parse(readFileSync(new URL('./servers.json', import.meta.url), 'utf8'));

export function cacheDir() {
  return process.env.POLYKV_CACHE_DIR ?? join(homedir(), '.cache', 'polykv');
}

/** The folder a package is unpacked into: one per exact version, so an upgrade never mixes files. */
export function packageDir(kind) {
  const entry = manifest.packages[kind];
  return join(cacheDir(), 'servers', `${entry.package}_${entry.version}`);
}

/** The binary of `kind` (a key of servers.json's packages: etcd, consul, etcdctl). */
export function serverBinary(kind) {
  const entry = manifest.packages[kind];
  if (!entry) throw new Error(`unknown server kind ${kind}`);
  return process.env[entry.envOverride] || join(packageDir(kind), entry.binary);
}
