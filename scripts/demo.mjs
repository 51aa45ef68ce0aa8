#!/usr/bin/env node
// The README's main command, `npm run demo`: the main job of polykv end to end on this machine.
// It builds what it needs, installs and starts a local etcd and a Consul dev agent (with the
// project's own server installer and test launcher), loads a sample configuration into etcd,
// migrates it to Consul with `polykv copy` (progress bar and summary), shows that `polykv diff` is
// empty, and watches a live configuration update arrive through loadConfig(). Then it stops both
// servers and checks that none of them is left running, also after an error or Ctrl-C.
//
// Where the servers cannot be installed (Debian's archive unreachable), it says so and runs the
// same steps on two memory:// stores in this process. `node scripts/demo.mjs --memory` does that on
// purpose.
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const cliPath = join(root, 'packages/cli/dist/main.js');
const sampleFile = join(root, 'scripts/demo-config.json');
const steps = 8;
let step = 0;
const started = Date.now();

function heading(text) {
  step++;
  console.log(`\n[${step}/${steps}] ${text}`);
}
const note = (text) => console.log(`      ${text}`);
const seconds = () => `${((Date.now() - started) / 1000).toFixed(1)} s`;

// ---------------------------------------------------------------------------------------------
heading('Building the packages (tsc --build; instant when up to date)');
const tsc = join(root, 'node_modules/typescript/bin/tsc');
if (!existsSync(tsc)) {
  console.error('demo: node_modules is missing: run `npm ci` first');
  process.exit(1);
}
const build = spawnSync(process.execPath, [tsc, '--build', 'packages/cli', 'test/helpers'], {
  cwd: root,
  stdio: 'inherit',
});
const helpersPath = join(root, 'build/test/helpers');
if (build.status !== 0) {
  if (!existsSync(cliPath) || !existsSync(join(helpersPath, 'servers.js'))) {
    console.error('demo: the build failed (see above)');
    process.exit(1);
  }
  note('the build reported errors (see above); going on with the files it produced');
}
// tsc writes files without the execute bit; npm only sets it on install, before dist/ existed.
// Set it so that `npx polykv` works in this checkout too.
chmodSync(cliPath, 0o755);
const { runCli } = await import('@polykv/cli');
const { openStore, loadConfig } = await import('@polykv/core');

// ---------------------------------------------------------------------------------------------
heading('Installing etcd 3.4 and Consul 1.8 from Debian (node scripts/install-servers.mjs)');
let useServers = !process.argv.includes('--memory');
if (!useServers) note('--memory: skipping the servers; using two memory:// stores in this process');
else {
  const install = spawnSync(process.execPath, [join(root, 'scripts/install-servers.mjs')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (install.status !== 0) {
    useServers = false;
    note('the servers could not be installed (is deb.debian.org reachable?).');
    note('Falling back to two memory:// stores in this process: same commands, same results.');
  } else note('installed (cached under ~/.cache/polykv/servers)');
}

/** Every server this demo started; stopped in `cleanup()`, whatever happens. */
let servers = [];
let helpers;
let cleaning;
async function cleanup() {
  cleaning ??= (async () => {
    if (!helpers) return;
    await helpers.stopAllServers();
  })();
  return cleaning;
}
let interrupted = false;
/** The polykv child running now, if any: it is interrupted with the demo. */
let current;
process.on('SIGINT', () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  console.log('\ndemo: interrupted; stopping the servers');
  // A Ctrl-C reaches the child too; a `kill -INT` of the demo alone does not.
  current?.kill('SIGINT');
  void cleanup().finally(() => process.exit(130));
});

let etcdUrl = 'memory://etcd-standin';
let consulUrl = 'memory://consul-standin';
const env = { ...process.env };
delete env.POLYKV_URL;
let store;
let live;
let failed = false;
try {
  // -------------------------------------------------------------------------------------------
  heading('Starting etcd and a Consul dev agent on free loopback ports');
  if (useServers) {
    helpers = await import(join(helpersPath, 'processes.js'));
    const { startEtcd, startConsulDev } = await import(join(helpersPath, 'servers.js'));
    const [etcd, consul] = await Promise.all([startEtcd(), startConsulDev({ acl: true })]);
    servers = [
      { name: 'etcd', pid: etcd.pid },
      { name: 'consul', pid: consul.pid },
    ];
    etcdUrl = `etcd://${etcd.host}`;
    consulUrl = `consul://${consul.address}`;
    env.CONSUL_HTTP_TOKEN = consul.token;
    note(`etcd ${etcdUrl} (pid ${etcd.pid}), Consul ${consulUrl} (pid ${consul.pid}), up after ${seconds()}`);
    note('Consul has ACLs on: every command below gets its token from CONSUL_HTTP_TOKEN');
  } else note(`no servers: ${etcdUrl} stands in for etcd, ${consulUrl} for Consul`);

  /** Runs `polykv ...args` as the user would (a child process; in this process for memory://). */
  const polykv = async (args, expected = 0) => {
    console.log(`\n    $ polykv ${args.join(' ')}`);
    let code;
    if (useServers) {
      current = spawn(process.execPath, [cliPath, ...args], { cwd: root, env, stdio: 'inherit' });
      code = await new Promise((resolve) => current.on('exit', (status) => resolve(status ?? 1)));
      current = undefined;
    } else code = await runCli(args, { env });
    if (code !== expected) throw new Error(`polykv ${args[0]} exited with ${code} (expected ${expected})`);
    return code;
  };

  // -------------------------------------------------------------------------------------------
  heading('Loading a sample configuration (30 keys below app/) into etcd');
  note('scripts/demo-config.json: database, cache, http, features, upstreams, ...');
  await polykv(['load', sampleFile, '--prefix', 'app', '--url', etcdUrl]);
  await polykv(['ls', 'app', '--url', etcdUrl]);

  // -------------------------------------------------------------------------------------------
  heading('Migrating app/ from etcd to Consul');
  await polykv(['copy', '--from', etcdUrl, '--to', consulUrl, '--prefix', 'app']);

  // -------------------------------------------------------------------------------------------
  heading('Checking that both stores now hold the same values');
  await polykv(['diff', etcdUrl, consulUrl, '--prefix', 'app']);
  note('exit code 0 and no lines: nothing differs');

  // -------------------------------------------------------------------------------------------
  heading('A live configuration: loadConfig(consul, "app", { watch: true, json: true })');
  store = await openStore(
    consulUrl,
    env.CONSUL_HTTP_TOKEN ? { consul: { client: { token: env.CONSUL_HTTP_TOKEN } } } : {},
  );
  live = await loadConfig(store, 'app', { watch: true, json: true });
  note(`current.features = ${JSON.stringify(live.current.features)}`);
  note(`current.database.port = ${JSON.stringify(live.current.database?.port)} (a number: json: true)`);
  const next = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no live update within 15 s')), 15_000);
    live.once('change', (config) => {
      clearTimeout(timer);
      resolve(config);
    });
    live.once('error', reject);
  });
  await polykv(['put', 'app/features/dark-mode', 'true', '--url', consulUrl]);
  const updated = await next;
  note(`change event: features.dark-mode is now ${JSON.stringify(updated.features['dark-mode'])}`);
  note(`current.features = ${JSON.stringify(live.current.features)}`);
} catch (error) {
  failed = true;
  if (!interrupted) console.error(`\ndemo failed: ${error instanceof Error ? error.message : String(error)}`);
} finally {
  // -------------------------------------------------------------------------------------------
  step = steps - 1;
  heading('Stopping everything');
  await live?.close();
  await store?.close();
  await cleanup();
  const left = servers.filter(({ pid }) => {
    try {
      process.kill(pid, 0);
      return true;
    } catch {
      return false;
    }
  });
  if (left.length > 0) {
    failed = true;
    console.error(`demo: still running: ${left.map(({ name, pid }) => `${name} (pid ${pid})`).join(', ')}`);
  } else if (servers.length > 0)
    note(
      `stopped ${servers.map(({ name, pid }) => `${name} (pid ${pid})`).join(' and ')}: nothing left running`,
    );
  else note('no server was started: nothing to stop');
}
console.log(`\n${failed ? 'demo FAILED' : 'demo done'} in ${seconds()}`);
process.exit(failed ? 1 : 0);
