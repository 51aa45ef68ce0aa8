#!/usr/bin/env node
// Installs the exact etcd and Consul builds the tests run against (and etcdctl, the official
// client the interop tests drive; the consul binary is Consul's CLI too), from Debian's archive,
// without root and without touching the system's apt state: a private sources file and
// private state/cache folders, `apt-get download`, a sha256 check against servers.json,
// then `dpkg -x` into the cache. Quick (no network) when the binaries are already there.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cacheDir, manifest, packageDir, serverBinary } from './server-paths.mjs';

const kinds = Object.keys(manifest.packages);

function log(message) {
  process.stderr.write(`[install-servers] ${message}\n`);
}

function systemDebianUris() {
  // The machine's own mirror: deb822 `URIs:` lines of the Debian sources file.
  const file = '/etc/apt/sources.list.d/debian.sources';
  if (!existsSync(file)) return ['http://deb.debian.org/debian'];
  const uris = readFileSync(file, 'utf8')
    .split('\n')
    .filter((line) => /^URIs:/i.test(line))
    .flatMap((line) => line.replace(/^URIs:\s*/i, '').split(/\s+/))
    .filter((uri) => uri && !uri.includes('security'));
  return uris.length > 0 ? [...new Set(uris)] : ['http://deb.debian.org/debian'];
}

function sha256(file) {
  return createHash('sha256').update(readFileSync(file)).digest('hex');
}

function ready(kind) {
  const entry = manifest.packages[kind];
  if (process.env[entry.envOverride]) return existsSync(process.env[entry.envOverride]);
  return existsSync(serverBinary(kind)) && existsSync(join(packageDir(kind), '.sha256-ok'));
}

const missing = kinds.filter((kind) => !ready(kind));
if (missing.length === 0) {
  for (const kind of kinds) log(`${kind}: ${serverBinary(kind)} (cached)`);
  process.exit(0);
}

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
    `Suites: ${manifest.suites.join(' ')}`,
    `Components: ${manifest.component}`,
    `Signed-By: ${manifest.keyring}`,
    '',
  ].join('\n'),
);
const aptOptions = [
  '-o',
  `Dir::Etc::sourcelist=${sourcesFile}`,
  '-o',
  'Dir::Etc::sourceparts=-',
  '-o',
  `Dir::State=${join(aptRoot, 'state')}`,
  '-o',
  `Dir::State::status=${join(aptRoot, 'state', 'status')}`,
  '-o',
  `Dir::Cache=${join(aptRoot, 'cache')}`,
  '-o',
  'Debug::NoLocking=1',
  '-o',
  'APT::Sandbox::User=root',
];

function apt(args, cwd) {
  execFileSync('apt-get', [...aptOptions, ...args], { cwd, stdio: ['ignore', 'pipe', 'inherit'] });
}

log(`updating a private package index (${manifest.suites.join(', ')})`);
apt(['-q', 'update']);

for (const kind of missing) {
  const entry = manifest.packages[kind];
  if (process.env[entry.envOverride]) {
    throw new Error(`${entry.envOverride}=${process.env[entry.envOverride]} does not exist`);
  }
  log(`${kind}: downloading ${entry.package}=${entry.version}`);
  for (const name of readdirSync(downloads)) rmSync(join(downloads, name));
  apt(['-q', 'download', `${entry.package}=${entry.version}`], downloads);
  const [deb] = readdirSync(downloads).filter((name) => name.endsWith('.deb'));
  if (!deb) throw new Error(`${kind}: apt-get download produced no .deb`);
  const actual = sha256(join(downloads, deb));
  if (actual !== entry.sha256) {
    throw new Error(`${kind}: sha256 mismatch for ${deb}: expected ${entry.sha256}, got ${actual}`);
  }
  const target = packageDir(kind);
  const staging = `${target}.partial`;
  rmSync(staging, { recursive: true, force: true });
  rmSync(target, { recursive: true, force: true });
  mkdirSync(staging, { recursive: true });
  execFileSync('dpkg', ['-x', join(downloads, deb), staging], { stdio: 'inherit' });
  writeFileSync(join(staging, '.sha256-ok'), `${actual}  ${deb}\n`);
  renameSync(staging, target);
  rmSync(join(downloads, deb));
  // etcdctl 3.4 speaks v3 by default, where the version is a command, not a flag.
  const versionArgs = entry.versionArgs ?? ['--version'];
  const version = execFileSync(serverBinary(kind), versionArgs, { encoding: 'utf8' }).split('\n')[0];
  log(`${kind}: ${serverBinary(kind)} (${version})`);
}
