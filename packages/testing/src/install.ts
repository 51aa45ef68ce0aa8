import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, cachedBinary, findBinary, isCached, packageDir } from './binaries.js';
import { SERVER_MANIFEST, type ServerKind } from './manifest.js';

/** Options of {@link installServers}. */
export interface InstallOptions {
  /**
   * The kinds to install.
   * @defaultValue every kind: `['etcd', 'consul', 'etcdctl']`
   */
  kinds?: readonly ServerKind[];
  /**
   * Where progress lines go.
   * @defaultValue a line on stderr, prefixed `[polykv-testing]`
   */
  log?: (line: string) => void;
}

function defaultLog(line: string): void {
  process.stderr.write(`[polykv-testing] ${line}\n`);
}

/** The machine's own Debian mirror: the deb822 `URIs:` lines of its Debian sources file. */
function systemDebianUris(): string[] {
  const file = '/etc/apt/sources.list.d/debian.sources';
  if (!existsSync(file)) return ['http://deb.debian.org/debian'];
  const uris = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^URIs:/i.test(line))
    .flatMap((line) => line.replace(/^URIs:\s*/i, '').split(/\s+/))
    .filter((uri) => uri && !uri.includes('security'));
  return uris.length > 0 ? [...new Set(uris)] : ['http://deb.debian.org/debian'];
}

function sha256(file: string): string {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

/** True when the kind needs no download: its environment variable is set, or the cache has it. */
function ready(kind: ServerKind): boolean {
  const override = process.env[SERVER_MANIFEST.packages[kind].envOverride];
  if (override) return existsSync(override);
  return isCached(kind);
}

/**
 * A private apt setup in the cache: its own deb822 sources file (the machine's Debian mirror, the
 * manifest's suites), state and cache folders, so that neither root nor the system's apt state is
 * touched.
 */
function privateApt(): { run(args: string[], cwd?: string): void; downloads: string } {
  const aptRoot = join(cacheDir(), 'apt');
  const sourcesFile = join(aptRoot, 'polykv.sources');
  const downloads = join(aptRoot, 'downloads');
  for (const dir of [
    join(aptRoot, 'state', 'lists', 'partial'),
    join(aptRoot, 'cache', 'archives', 'partial'),
    downloads,
  ]) {
    mkdirSync(dir, { recursive: true });
  }
  writeFileSync(join(aptRoot, 'state', 'status'), '', { flag: 'a' });
  writeFileSync(
    sourcesFile,
    [
      'Types: deb',
      `URIs: ${systemDebianUris().join(' ')}`,
      `Suites: ${SERVER_MANIFEST.suites.join(' ')}`,
      `Components: ${SERVER_MANIFEST.component}`,
      `Signed-By: ${SERVER_MANIFEST.keyring}`,
      '',
    ].join('\n'),
  );
  const options = [
    ['Dir::Etc::sourcelist', sourcesFile],
    ['Dir::Etc::sourceparts', '-'],
    ['Dir::State', join(aptRoot, 'state')],
    ['Dir::State::status', join(aptRoot, 'state', 'status')],
    ['Dir::Cache', join(aptRoot, 'cache')],
    ['Debug::NoLocking', '1'],
    ['APT::Sandbox::User', 'root'],
  ].flatMap(([name, value]) => ['-o', `${name}=${value}`]);
  return {
    downloads,
    run(args, cwd) {
      execFileSync('apt-get', [...options, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
    },
  };
}

/**
 * Installs the pinned etcd, Consul and etcdctl builds ({@link SERVER_MANIFEST}) from Debian's
 * archive into the cache ({@link cacheDir}), without root: `apt-get update` and `apt-get download`
 * on a private sources file and private state, a sha256 check of each `.deb` against the manifest,
 * then `dpkg -x` into {@link packageDir}. Needs `apt-get`, `dpkg` and the Debian archive keyring
 * (any Debian or Ubuntu machine has them). A kind whose environment variable is set, or that is
 * already cached, is left alone, so a second call does no network I/O.
 *
 * @returns the binary of every requested kind.
 * @throws Error when a download fails, a digest differs, or an environment variable names a
 *   missing file.
 */
export function installServers(options: InstallOptions = {}): Record<ServerKind, string> {
  const kinds = options.kinds ?? (Object.keys(SERVER_MANIFEST.packages) as ServerKind[]);
  const log = options.log ?? defaultLog;
  const missing = kinds.filter((kind) => !ready(kind));
  if (missing.length > 0) {
    const apt = privateApt();
    log(`updating a private package index (${SERVER_MANIFEST.suites.join(', ')})`);
    apt.run(['-q', 'update']);
    for (const kind of missing) {
      const entry = SERVER_MANIFEST.packages[kind];
      if (process.env[entry.envOverride]) {
        throw new Error(`${entry.envOverride}=${process.env[entry.envOverride]} does not exist`);
      }
      log(`${kind}: downloading ${entry.package}=${entry.version}`);
      for (const name of readdirSync(apt.downloads)) rmSync(join(apt.downloads, name));
      apt.run(['-q', 'download', `${entry.package}=${entry.version}`], apt.downloads);
      const deb = readdirSync(apt.downloads).find((name) => name.endsWith('.deb'));
      if (!deb) throw new Error(`${kind}: apt-get download produced no .deb`);
      const actual = sha256(join(apt.downloads, deb));
      if (actual !== entry.sha256) {
        throw new Error(`${kind}: sha256 mismatch for ${deb}: expected ${entry.sha256}, got ${actual}`);
      }
      // Unpacked beside the target and renamed at the end, so a half-unpacked package never counts.
      const target = packageDir(kind);
      const staging = `${target}.partial`;
      rmSync(staging, { recursive: true, force: true });
      rmSync(target, { recursive: true, force: true });
      mkdirSync(staging, { recursive: true });
      execFileSync('dpkg', ['-x', join(apt.downloads, deb), staging], { stdio: 'inherit' });
      writeFileSync(join(staging, '.sha256-ok'), `${actual}  ${deb}\n`);
      renameSync(staging, target);
      rmSync(join(apt.downloads, deb));
      const version = execFileSync(cachedBinary(kind), entry.versionArgs, { encoding: 'utf8' }).split(
        '\n',
      )[0];
      log(`${kind}: ${cachedBinary(kind)} (${version})`);
    }
  }
  const result = {} as Record<ServerKind, string>;
  for (const kind of kinds) {
    const path = findBinary(kind)!.path;
    if (!missing.includes(kind)) log(`${kind}: ${path} (cached)`);
    result[kind] = path;
  }
  return result;
}

/**
 * The binary of `kind` to run: {@link findBinary}'s answer (environment variable, cache, `PATH`),
 * else the pinned build installed now by {@link installServers}.
 *
 * @throws Error naming the ways to provide the binary when none is found and installing fails.
 */
export function resolveBinary(kind: ServerKind): string {
  const found = findBinary(kind);
  if (found) return found.path;
  try {
    return installServers({ kinds: [kind] })[kind];
  } catch (cause) {
    const entry = SERVER_MANIFEST.packages[kind];
    throw new Error(
      `no ${kind} binary: set ${entry.envOverride}, put ${kind} on PATH, or install ${entry.package} ${entry.version} with installServers() (needs apt-get and dpkg)`,
      { cause },
    );
  }
}
