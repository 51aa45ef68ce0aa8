#!/usr/bin/env node
// Installs the exact etcd and Consul builds the tests run against (and etcdctl, the official
// client the interop tests drive; the consul binary is Consul's CLI too) from Debian's archive, with
// @polykv/testing's installServers (which says how: private apt state, pinned sha256, `dpkg -x`
// into the cache). Quick (no network) when the binaries are already there. CI runs it before the
// build, so it builds the testing package first (an incremental no-op once built).
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
execFileSync(
  process.execPath,
  [join(root, 'node_modules/typescript/bin/tsc'), '--build', 'packages/testing'],
  {
    cwd: root,
    stdio: 'inherit',
  },
);
const { installServers } = await import('@polykv/testing');
installServers({ log: (line) => process.stderr.write(`[install-servers] ${line}\n`) });
