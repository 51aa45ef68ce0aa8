// Installing what the benchmark needs: the peer libraries (into bench/.peers, never the main
// install), the real servers (scripts/install-servers.mjs) and the compiled test helpers.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BENCH = fileURLToPath(new URL('..', import.meta.url));
export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const PEERS_DIR = `${BENCH}.peers`;

/** The exact peer versions (checked with `npm view`): the newest of each major the issue names. */
export const PEERS = { consul: '2.0.1', 'node-etcd': '7.0.0', etcdjs: '2.4.2', etcd3: '1.1.2' };

function installedVersion(name) {
  const file = `${PEERS_DIR}/node_modules/${name}/package.json`;
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')).version : undefined;
}

export function ensurePeers(log) {
  const missing = Object.entries(PEERS).filter(([name, version]) => installedVersion(name) !== version);
  if (missing.length === 0) return;
  log(`installing peers into bench/.peers: ${missing.map(([n, v]) => `${n}@${v}`).join(' ')}`);
  const result = spawnSync(
    'npm',
    [
      'install',
      '--prefix',
      PEERS_DIR,
      '--no-save',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      ...Object.entries(PEERS).map(([name, version]) => `${name}@${version}`),
    ],
    { stdio: 'inherit', cwd: ROOT },
  );
  if (result.status !== 0) throw new Error('npm install of the peers failed');
}

export function ensureServers() {
  const result = spawnSync(process.execPath, ['scripts/install-servers.mjs'], {
    stdio: 'inherit',
    cwd: ROOT,
  });
  if (result.status !== 0) throw new Error('scripts/install-servers.mjs failed');
}

export async function helpers() {
  const serversJs = `${ROOT}build/test/helpers/servers.js`;
  if (!existsSync(serversJs)) {
    throw new Error(
      'build/test/helpers is missing: run `npm run bench` (it builds first) or `npx tsc --build`',
    );
  }
  const servers = await import(serversJs);
  const processes = await import(`${ROOT}build/test/helpers/processes.js`);
  return { ...servers, stopAllServers: processes.stopAllServers };
}

export function packageVersion(path) {
  try {
    return JSON.parse(readFileSync(path, 'utf8')).version;
  } catch {
    return 'n/a';
  }
}

export function peerVersion(name) {
  return installedVersion(name) ?? 'n/a';
}
