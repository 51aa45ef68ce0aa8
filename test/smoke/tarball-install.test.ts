import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import {
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
  existsSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { repoPath, stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd } from '../helpers/servers.js';

// The packages as a user gets them: every workspace package packed with `npm pack`, installed from
// the tarballs into a fresh project outside the repository (no workspace links; npm's cache first), a TypeScript file importing each package compiled under moduleResolution node16 and
// bundler, and run against memory://, a real etcd (v2 and v3 API) and a real Consul agent.

const run = promisify(execFile);
const root = fileURLToPath(repoPath(''));
const tsc = join(root, 'node_modules/typescript/bin/tsc');

interface Workspace {
  dir: string;
  name: string;
  /** Every import specifier of the package's `exports` map (`@polykv/core`, `@polykv/core/testing`). */
  entries: string[];
}

/** The root package.json's workspaces (a trailing `/*` expands), so new packages are included. */
function workspaces(): Workspace[] {
  const { workspaces: patterns } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    workspaces: string[];
  };
  const dirs = patterns.flatMap((pattern) =>
    pattern.endsWith('/*')
      ? readdirSync(join(root, pattern.slice(0, -2))).map((name) => join(pattern.slice(0, -2), name))
      : [pattern],
  );
  return dirs
    .filter((dir) => existsSync(join(root, dir, 'package.json')))
    .map((dir) => {
      const { name, exports = {} } = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
        name: string;
        exports?: Record<string, unknown>;
      };
      const entries = Object.keys(exports)
        .filter((subpath) => subpath !== './package.json')
        .map((subpath) => (subpath === '.' ? name : `${name}/${subpath.slice(2)}`));
      return { dir: join(root, dir), name, entries };
    });
}

// Imports each package the built-in way; every store URL given on the command line gets a write, a
// read, a listing and a delete through openStore, so each backend package is loaded and used.
const MAIN = `import { createMemoryStore, openStore, isPolykvError, type Store } from '@polykv/core';
import { runStoreConformance } from '@polykv/core/testing';
import { EtcdClient, createEtcdStore } from '@polykv/etcd';
import { Etcd3Client, createEtcd3Store } from '@polykv/etcd3';
import { ConsulClient, createConsulStore } from '@polykv/consul';
import { ExitCode, runCli } from '@polykv/cli';

const factories = [createMemoryStore, createEtcdStore, createEtcd3Store, createConsulStore, runCli];
const classes = [EtcdClient, Etcd3Client, ConsulClient];
if (typeof runStoreConformance !== 'function' || factories.some((f) => typeof f !== 'function')) throw new Error('missing export');
if (classes.some((c) => typeof c !== 'function') || typeof ExitCode !== 'object') throw new Error('missing export');

async function exercise(url: string): Promise<string> {
  const store: Store = await openStore(url);
  try {
    await store.set('tarball/greeting', 'hello from ' + url.split(':')[0]);
    const entry = await store.get('tarball/greeting');
    const listed = await store.list('tarball');
    const deleted = await store.del('tarball/greeting');
    return [entry?.value, listed.map((e) => e.key).join(','), deleted].join(' | ');
  } catch (error) {
    throw isPolykvError(error) ? new Error(url + ': ' + error.code + ' ' + error.message) : error;
  } finally {
    await store.close();
  }
}

for (const url of process.argv.slice(2)) console.log(await exercise(url));
`;

describe('the packed packages install and work outside the repository', { timeout: 300_000 }, () => {
  const work = mkdtempSync(join(tmpdir(), 'polykv-tarballs-'));
  const app = join(work, 'app');
  const tarballs: Record<string, string> = {};

  before(async () => {
    const packs = join(work, 'packs');
    mkdirSync(packs);
    for (const { dir, name } of workspaces()) {
      const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', packs], { cwd: dir });
      const [info] = JSON.parse(stdout) as [{ filename: string }];
      tarballs[name] = join(packs, info.filename);
    }
  });
  after(async () => {
    await stopAllServers();
    rmSync(work, { recursive: true, force: true });
  });

  it('installs from the tarballs alone (no workspace links, npm cache first)', async () => {
    mkdirSync(join(app, 'src'), { recursive: true });
    const dependencies = Object.fromEntries(
      Object.entries(tarballs).map(([name, file]) => [name, `file:${file}`]),
    );
    // The packages depend on each other by version: `$name` makes those edges take the tarballs too.
    const overrides = Object.fromEntries(Object.keys(tarballs).map((name) => [name, `$${name}`]));
    const manifest = { name: 'tarball-user', private: true, type: 'module', dependencies, overrides };
    writeFileSync(join(app, 'package.json'), JSON.stringify(manifest, null, 2));
    // --prefer-offline: third-party tarballs come from npm's cache (npm ci filled it); npm ci does
    // not cache the registry's metadata, so that (and only that) may come from the npm registry.
    await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], {
      cwd: app,
    });
    for (const name of Object.keys(tarballs)) {
      // A real folder with the packed files, not a link back into the repository.
      const installed = join(app, 'node_modules', name);
      assert.ok(existsSync(join(installed, 'package.json')), `${name} is installed`);
      assert.ok(
        !readdirSync(join(app, 'node_modules', name.split('/')[0]!), { withFileTypes: true }).some((entry) =>
          entry.isSymbolicLink(),
        ),
      );
    }
  });

  it('compiles a file importing every package under node16 and bundler resolution', async () => {
    // Every entry point of every package (a new package too) loads and exports something.
    const entries = workspaces().flatMap(({ entries: specifiers }) => specifiers);
    const every = [
      ...entries.map((specifier, at) => `import * as entry${at} from '${specifier}';`),
      `const loaded = { ${entries.map((specifier, at) => `'${specifier}': entry${at}`).join(', ')} };`,
      `for (const [name, module] of Object.entries(loaded)) if (Object.keys(module).length === 0) throw new Error(name + ' exports nothing');`,
    ];
    writeFileSync(join(app, 'src/main.ts'), `${MAIN}\n${every.join('\n')}\n`);
    const common = ['--strict', '--target', 'ES2023', '--skipLibCheck', 'false', '--types', 'node'];
    const typeRoots = ['--typeRoots', join(root, 'node_modules/@types')];
    const node16 = ['--module', 'node16', '--moduleResolution', 'node16', '--outDir', 'dist'];
    const bundler = ['--module', 'esnext', '--moduleResolution', 'bundler', '--noEmit'];
    for (const mode of [node16, bundler]) {
      const result = await run(process.execPath, [tsc, ...common, ...typeRoots, ...mode, 'src/main.ts'], {
        cwd: app,
      }).catch((error: { stdout: string }) => assert.fail(`tsc ${mode.join(' ')}:\n${error.stdout}`));
      assert.equal(result.stdout, '');
    }
  });

  it('runs against memory://, a real etcd (v2 and v3) and a real Consul', async () => {
    const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev()]);
    const urls = [
      'memory://',
      `etcd://${etcd.host}/app`,
      `etcd3://${etcd.host}/app`,
      `consul://${consul.address}/app`,
    ];
    const { stdout } = await run(process.execPath, ['dist/main.js', ...urls], { cwd: app });
    assert.deepEqual(stdout.trim().split('\n'), [
      'hello from memory | tarball/greeting | true',
      'hello from etcd | tarball/greeting | true',
      'hello from etcd3 | tarball/greeting | true',
      'hello from consul | tarball/greeting | true',
    ]);
    // The bin too, as npm linked it.
    const cli = await run(
      join(app, 'node_modules/.bin/polykv'),
      ['ls', '--url', `consul://${consul.address}/app`],
      {
        cwd: app,
      },
    );
    assert.equal(cli.stdout, '');
  });
});
