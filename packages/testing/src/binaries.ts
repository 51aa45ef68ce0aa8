import { accessSync, constants, existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import { SERVER_MANIFEST, type ServerKind } from './manifest.js';

/**
 * The cache folder the installer unpacks into: `POLYKV_CACHE_DIR`, else `~/.cache/polykv`.
 */
export function cacheDir(): string {
  return process.env.POLYKV_CACHE_DIR ?? join(homedir(), '.cache', 'polykv');
}

/**
 * The folder a server package is unpacked into: one per exact version, so an upgrade never mixes files.
 */
export function packageDir(kind: ServerKind): string {
  const entry = SERVER_MANIFEST.packages[kind];
  return join(cacheDir(), 'servers', `${entry.package}_${entry.version}`);
}

/** The pinned binary's path in the cache (whether or not it is installed). */
export function cachedBinary(kind: ServerKind): string {
  return join(packageDir(kind), SERVER_MANIFEST.packages[kind].binary);
}

/** True when the cache holds the pinned binary and the installer checked its package's sha256. */
export function isCached(kind: ServerKind): boolean {
  return existsSync(cachedBinary(kind)) && existsSync(join(packageDir(kind), '.sha256-ok'));
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/** The first executable named `name` in a folder of `PATH`, if any. */
function onPath(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir !== '' && executable(join(dir, name))) return join(dir, name);
  }
  return undefined;
}

/** Where a binary was found, as {@link findBinary} reports it. */
export interface FoundBinary {
  /** The binary's path. */
  path: string;
  /** `env` (the kind's environment variable), `cache` (the pinned build) or `path` (`PATH`). */
  source: 'env' | 'cache' | 'path';
}

/**
 * Finds the binary of `kind` without installing anything, in this order: the kind's environment
 * variable (`POLYKV_ETCD_BIN`, `POLYKV_CONSUL_BIN`, `POLYKV_ETCDCTL_BIN`), the pinned build in the
 * cache ({@link installServers} puts it there), then `PATH`. The pinned build comes before `PATH`
 * so that a machine with another version installed still tests against the pinned one.
 *
 * @returns `undefined` when none is there.
 * @throws Error when the environment variable names a file that does not exist (a typo there must
 *   not fall through to another binary).
 */
export function findBinary(kind: ServerKind): FoundBinary | undefined {
  const entry = SERVER_MANIFEST.packages[kind];
  const override = process.env[entry.envOverride];
  if (override) {
    if (!existsSync(override)) throw new Error(`${entry.envOverride}=${override} does not exist`);
    return { path: override, source: 'env' };
  }
  if (isCached(kind)) return { path: cachedBinary(kind), source: 'cache' };
  const found = onPath(kind);
  return found === undefined ? undefined : { path: found, source: 'path' };
}
