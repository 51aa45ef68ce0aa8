// The `polykv` command carries bytes (issue 12.2): get, put (@file, -, --base64), dump's refusals,
// the ecosystems' environment variables (issue 17), the exit-code table, and watch on memory:// and
// across a server restart (issue 13.2). Real etcd and Consul; the CLI runs as a subprocess.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { stopAllServers } from '../helpers/processes.js';
import { startConsulDev, startEtcd, type ConsulAgent, type EtcdMember } from '../helpers/servers.js';
import { cliEnv, cliPath, killAll, root, startCli } from './run.js';

after(killAll);
after(stopAllServers);

const BINARY = Buffer.from([0xff, 0xfe, 0x00, 0x01, 0x61, 0x62, 0x63]);
const scratch = mkdtempSync(join(tmpdir(), 'polykv-cli-bytes-'));

/** `polykv ...args` with stdin as bytes and stdout kept as bytes. */
function cliBytes(
  args: readonly string[],
  options: { env?: Record<string, string>; input?: Uint8Array | string } = {},
): Promise<{ code: number | null; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cliPath, ...args], { cwd: root, env: cliEnv(options.env) });
    const stdout: Buffer[] = [];
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout: Buffer.concat(stdout), stderr }));
    child.stdin.end(options.input ?? '');
  });
}

function oneErrorLine(result: { stderr: string }, code: string): void {
  const lines = result.stderr.split('\n').filter((line) => line !== '');
  assert.equal(lines.length, 1, result.stderr);
  assert.match(lines[0]!, new RegExp(`^polykv: ${code}: \\S`));
}

describe('polykv carries bytes', { timeout: 300_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  let env: Record<string, string>;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev({ acl: true })]);
    env = { CONSUL_HTTP_TOKEN: consul.token! };
  });
  const consulUrl = (prefix: string) => `consul://${consul.address}/${prefix}`;

  it('put @file and - write the exact bytes; get prints them (+ newline, --raw without); --json names base64', async () => {
    const u = consulUrl(`bytes-${randomBytes(3).toString('hex')}`);
    const file = join(scratch, 'binary.dat');
    writeFileSync(file, BINARY);
    assert.equal((await cliBytes(['put', 'from-file', `@${file}`, '--url', u], { env })).code, 0);
    assert.equal((await cliBytes(['put', 'from-stdin', '-', '--url', u], { env, input: BINARY })).code, 0);
    const b64 = BINARY.toString('base64');
    assert.equal((await cliBytes(['put', 'from-base64', b64, '--base64', '--url', u], { env })).code, 0);
    for (const key of ['from-file', 'from-stdin', 'from-base64']) {
      const got = await cliBytes(['get', key, '--url', u], { env });
      assert.deepEqual(got.stdout, Buffer.concat([BINARY, Buffer.from('\n')]), key);
      const raw = await cliBytes(['get', key, '--raw', '--url', u], { env });
      assert.deepEqual(raw.stdout, BINARY, key);
      const json = JSON.parse(
        (await cliBytes(['get', key, '--json', '--url', u], { env })).stdout.toString(),
      );
      assert.equal(json.valueBase64, b64);
      assert.equal(json.value, undefined);
    }
    const text = JSON.parse(
      (await cliBytes(['put', 'text', 'hé', '--json', '--url', u], { env })).stdout.toString(),
    );
    assert.equal(text.value, 'hé');
    const notBase64 = await cliBytes(['put', 'x', 'no*pe', '--base64', '--url', u], { env });
    assert.equal(notBase64.code, 1);
    oneErrorLine(notBase64, 'BAD_INPUT');
    const missing = await cliBytes(['put', 'x', '@/nonexistent/file', '--url', u], { env });
    assert.equal(missing.code, 1);
    oneErrorLine(missing, 'ENOENT');
  });

  it('watch shows a value that is not UTF-8 as base64, never as replacement characters', async () => {
    const u = consulUrl(`watch-${randomBytes(3).toString('hex')}`);
    const watch = startCli(['watch', 'k', '--url', u], { env });
    await watch.waitFor('stderr', /^watching k/m);
    assert.equal((await cliBytes(['put', 'k', '-', '--url', u], { env, input: BINARY })).code, 0);
    await watch.waitFor('stdout', new RegExp(`^put k = base64:${BINARY.toString('base64')} `, 'm'));
    watch.child.kill('SIGINT');
    assert.equal((await watch.exited).code, 130);
  });

  it('put --flags on etcd is refused before writing (etcd keeps no flags)', async () => {
    const u = `etcd://${etcd.host}/flags-${randomBytes(3).toString('hex')}`;
    const refused = await cliBytes(['put', 'k', 'v', '--flags', '42', '--url', u]);
    assert.equal(refused.code, 1);
    oneErrorLine(refused, 'NOT_SUPPORTED');
    assert.equal((await cliBytes(['get', 'k', '--url', u])).code, 3, 'nothing was written');
    const bad = await cliBytes(['put', 'k', 'v', '--flags', '18446744073709551616', '--url', u]);
    assert.equal(bad.code, 2);
    oneErrorLine(bad, 'USAGE');
  });

  it('dump refuses, by name and with exit 1, what the flat format cannot hold; the polykv format keeps it', async () => {
    const prefix = `dump-${randomBytes(3).toString('hex')}`;
    const u = consulUrl(prefix);
    assert.equal((await cliBytes(['put', 'bin', '-', '--url', u], { env, input: BINARY })).code, 0);
    assert.equal((await cliBytes(['put', 'text', 'plain', '--url', u], { env })).code, 0);
    const flat = await cliBytes(['dump', '--url', u], { env });
    assert.equal(flat.code, 1);
    assert.deepEqual(JSON.parse(flat.stdout.toString()), { text: 'plain' });
    assert.match(
      flat.stderr,
      /^polykv: 1 key not dumped .*\n {2}not dumped {2}bin {2}the value is not UTF-8 text/m,
    );
    const lossless = await cliBytes(['dump', '--format', 'polykv', '--url', u], { env });
    assert.equal(lossless.code, 0, lossless.stderr);
    const document = JSON.parse(lossless.stdout.toString());
    assert.equal(document.format, 'polykv');
    assert.equal(document.version, 1);
    assert.deepEqual(document.entries, [
      { key: 'bin', valueBase64: BINARY.toString('base64') },
      { key: 'text', value: 'plain' },
    ]);
    // And back, into another prefix, byte for byte.
    const copy = consulUrl(`${prefix}-copy`);
    const loaded = await cliBytes(['load', '--url', copy], { env, input: lossless.stdout });
    assert.equal(loaded.code, 0, loaded.stderr);
    assert.match(loaded.stdout.toString(), /^loaded 2 keys into /);
    assert.deepEqual((await cliBytes(['get', 'bin', '--raw', '--url', copy], { env })).stdout, BINARY);
    assert.equal((await cliBytes(['diff', u, copy], { env })).code, 0);
  });

  it('watch on memory:// runs until Ctrl-C (it exited 13 at once)', async () => {
    const watch = startCli(['watch', 'a', '--url', 'memory://']);
    await watch.waitFor('stderr', /^watching a; Ctrl-C stops$/m);
    // Still running after the event loop has had every chance to drain.
    await new Promise((resolve) => setTimeout(resolve, 1500));
    assert.equal(watch.child.exitCode, null, `exited early: ${watch.stderr}`);
    watch.child.kill('SIGINT');
    const result = await watch.exited;
    assert.equal(result.code, 130);
    assert.equal(result.stderr, 'watching a; Ctrl-C stops\n');
  });

  it('watch prints a retry line when the server goes away and a line when it is back', async () => {
    const member = await startEtcd();
    const watch = startCli(['watch', 'k', '--url', `etcd://${member.host}/restart`]);
    await watch.waitFor('stderr', /^watching k/m);
    await member.kill();
    await watch.waitFor('stderr', /^watch disconnected, retrying: /m, 60_000);
    member.start();
    await member.waitReady();
    const put = await cliBytes(['put', 'k', 'after the restart', '--url', `etcd://${member.host}/restart`]);
    assert.equal(put.code, 0, put.stderr);
    await watch.waitFor('stdout', /^put k = after the restart /m, 60_000);
    await watch.waitFor('stderr', /^watch reconnected$/m, 60_000);
    watch.child.kill('SIGINT');
    assert.equal((await watch.exited).code, 130);
    await member.stop();
  });
});

describe('polykv reads the ecosystems environment', { timeout: 300_000 }, () => {
  let etcd: EtcdMember;
  let consul: ConsulAgent;
  before(async () => {
    [etcd, consul] = await Promise.all([startEtcd(), startConsulDev({ acl: true })]);
  });

  it('CONSUL_HTTP_ADDR and CONSUL_HTTP_TOKEN_FILE; --verbose says so with the token masked', async () => {
    const tokenFile = join(scratch, 'token');
    writeFileSync(tokenFile, `${consul.token}\n`);
    const env = { CONSUL_HTTP_ADDR: `http://${consul.address}`, CONSUL_HTTP_TOKEN_FILE: tokenFile };
    assert.equal((await cliBytes(['put', 'env/k', 'from env'], { env })).code, 0);
    const got = await cliBytes(['get', 'env/k', '--verbose'], { env });
    assert.equal(got.code, 0, got.stderr);
    assert.equal(got.stdout.toString(), 'from env\n');
    assert.match(
      got.stderr,
      new RegExp(`^polykv: store consul://${consul.address} \\(from CONSUL_HTTP_ADDR\\)$`, 'm'),
    );
    assert.match(got.stderr, /^polykv: Consul token: \*\*\* \(from CONSUL_HTTP_TOKEN_FILE=/m);
    assert.ok(!got.stderr.includes(consul.token!), 'the token is never shown');
    // The file wins over CONSUL_HTTP_TOKEN, as in consul.
    const both = await cliBytes(['get', 'env/k', '--verbose'], {
      env: { ...env, CONSUL_HTTP_TOKEN: 'not-the-token' },
    });
    assert.equal(both.code, 0, both.stderr);
    assert.match(both.stderr, /ignored CONSUL_HTTP_TOKEN: CONSUL_HTTP_TOKEN_FILE is set and wins/);
    const unreadable = await cliBytes(['get', 'env/k'], {
      env: { ...env, CONSUL_HTTP_TOKEN_FILE: '/nonexistent/token' },
    });
    assert.equal(unreadable.code, 1);
    oneErrorLine(unreadable, 'ENOENT');
  });

  it('ETCDCTL_ENDPOINTS (ETCDCTL_API ignored); both ecosystems set without POLYKV_URL is a usage error', async () => {
    const env = { ETCDCTL_ENDPOINTS: `http://${etcd.host}`, ETCDCTL_API: '3' };
    assert.equal((await cliBytes(['put', 'env/k', 'etcd'], { env })).code, 0);
    const got = await cliBytes(['get', 'env/k', '--verbose'], { env });
    assert.equal(got.stdout.toString(), 'etcd\n');
    assert.match(
      got.stderr,
      new RegExp(`^polykv: store etcd://${etcd.host} \\(from ETCDCTL_ENDPOINTS\\)$`, 'm'),
    );
    assert.match(got.stderr, /^polykv: ignored ETCDCTL_API=3: /m);
    const ambiguous = await cliBytes(['get', 'env/k'], {
      env: { ...env, CONSUL_HTTP_ADDR: consul.address },
    });
    assert.equal(ambiguous.code, 2);
    oneErrorLine(ambiguous, 'USAGE');
    assert.match(ambiguous.stderr, /both CONSUL_HTTP_ADDR and ETCDCTL_ENDPOINTS/);
    const polykvWins = await cliBytes(['get', 'env/k'], {
      env: { ...env, CONSUL_HTTP_ADDR: consul.address, POLYKV_URL: `etcd://${etcd.host}` },
    });
    assert.equal(polykvWins.stdout.toString(), 'etcd\n');
  });
});

describe('polykv --help: one exit-code table', () => {
  it('lists USAGE (2), NOT_FOUND (3), lock busy (4) and the CLI error codes', async () => {
    const result = await cliBytes(['--help']);
    assert.equal(result.code, 0);
    const help = { stdout: result.stdout.toString() };
    assert.match(help.stdout, /^ {2}2 +USAGE: /m);
    assert.match(help.stdout, /^ {2}3 +NOT_FOUND: /m);
    assert.match(help.stdout, /^ {2}4 +lock busy: /m);
    for (const code of ['USAGE', 'BAD_INPUT', 'NOT_FOUND', 'ENOENT', 'NOT_SUPPORTED'])
      assert.match(help.stdout, new RegExp(`^ {2}${code}\\b`, 'm'), code);
    for (const name of ['CONSUL_HTTP_ADDR', 'CONSUL_HTTP_TOKEN_FILE', 'CONSUL_CACERT', 'ETCDCTL_ENDPOINTS'])
      assert.ok(help.stdout.includes(name), name);
  });
});
