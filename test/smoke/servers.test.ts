import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, describe, it } from 'node:test';
import { probe, stopAllServers } from '../helpers/processes.js';
import {
  CONSUL_MASTER_TOKEN,
  startConsulCluster,
  startConsulDev,
  startEtcd,
  startEtcdCluster,
} from '../helpers/servers.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

function alive(pid: number | undefined): boolean {
  if (pid === undefined) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * Resolves once every thread of `pid` is stopped (state `T` in /proc). SIGSTOP stops a process's
 * threads one by one as each is next scheduled; a probe sent before the last one stopped was once
 * answered (CI, a loaded 2-core machine).
 */
async function waitStopped(pid: number): Promise<void> {
  const stopped = (tid: string): boolean =>
    /\) [Tt] /.test(readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8'));
  for (let attempt = 0; attempt < 250; attempt++) {
    if (readdirSync(`/proc/${pid}/task`).every(stopped)) return;
    await sleep(20);
  }
  assert.fail(`process ${pid} was not stopped 5 s after SIGSTOP`);
}

describe('test servers start, fail on demand, and stop', { timeout: 240_000 }, () => {
  const pids: number[] = [];
  after(async () => {
    await stopAllServers();
    assert.deepEqual(pids.filter(alive), [], 'no server process is left behind');
  });

  it('one etcd member with the v2 API, behind the TCP proxy', async () => {
    const member = await startEtcd();
    pids.push(member.pid!);
    const put = await probe(`${member.clientUrl}/v2/keys/smoke`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'value=hello',
    });
    assert.equal(put.status, 201);
    const proxy = await TcpProxy.start('127.0.0.1', Number(member.clientUrl.split(':')[2]));
    const viaProxy = await probe(`${proxy.url}/v2/keys/smoke`);
    assert.equal((JSON.parse(viaProxy.body) as { node: { value: string } }).node.value, 'hello');
    proxy.setMode({ kind: 'blackhole' });
    await assert.rejects(probe(`${proxy.url}/v2/keys/smoke`, { timeoutMs: 300 }), /timed out/);
    proxy.setMode({ kind: 'refuse' });
    await assert.rejects(probe(`${proxy.url}/v2/keys/smoke`), /ECONNRESET|socket hang up/);
    proxy.setMode({ kind: 'truncate', bytes: 20 });
    await assert.rejects(probe(`${proxy.url}/v2/keys/smoke`), /aborted|hang up|Parse Error|ECONNRESET/);
    proxy.setMode({ kind: 'garbage', bytes: Buffer.from('not http at all\r\n\r\n') });
    await assert.rejects(probe(`${proxy.url}/v2/keys/smoke`), /Parse Error|HPE|hang up/);
    proxy.pass();
    assert.equal((await probe(`${proxy.url}/v2/keys/smoke`)).status, 200);
    await proxy.close();
    await member.stop();
    assert.equal(alive(pids.at(-1)), false);
  });

  it('a 3-member etcd cluster: kill, pause and restart a member', async () => {
    const cluster = await startEtcdCluster(3);
    pids.push(...cluster.members.map((member) => member.pid!));
    const leader = await cluster.leader();
    const follower = cluster.members.find((member) => member !== leader)!;
    await follower.kill();
    assert.equal(follower.running, false);
    const put = await probe(`${leader.clientUrl}/v2/keys/k`, {
      method: 'PUT',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: 'value=v',
    });
    assert.equal(put.status, 201, 'two of three members still make a quorum');
    await follower.restart();
    pids.push(follower.pid!);
    const read = await probe(`${follower.clientUrl}/v2/keys/k?quorum=true`);
    assert.equal((JSON.parse(read.body) as { node: { value: string } }).node.value, 'v');
    follower.pause();
    await waitStopped(follower.pid!);
    await assert.rejects(probe(`${follower.clientUrl}/v2/keys/k`, { timeoutMs: 300 }), /timed out/);
    follower.resume();
    assert.equal((await probe(`${follower.clientUrl}/v2/keys/k`)).status, 200);
    await cluster.stop();
  });

  it('a Consul dev agent with ACLs on (deny by default, a master token)', async () => {
    const agent = await startConsulDev({ acl: true });
    pids.push(agent.pid!);
    const denied = await probe(`${agent.url}/v1/kv/smoke`, { method: 'PUT', body: 'x' });
    assert.equal(denied.status, 403);
    const allowed = await probe(`${agent.url}/v1/kv/smoke`, {
      method: 'PUT',
      body: 'x',
      headers: { 'X-Consul-Token': CONSUL_MASTER_TOKEN },
    });
    assert.equal(allowed.body.trim(), 'true');
    await agent.stop();
  });

  it('a Consul dev agent without ACLs restarts with fresh state', async () => {
    const agent = await startConsulDev();
    pids.push(agent.pid!);
    assert.equal((await probe(`${agent.url}/v1/kv/smoke`, { method: 'PUT', body: 'x' })).body.trim(), 'true');
    await agent.restart();
    pids.push(agent.pid!);
    assert.equal((await probe(`${agent.url}/v1/kv/smoke`)).status, 404, 'a dev agent keeps nothing');
    await agent.stop();
  });

  it('a 3-server Consul cluster elects a new leader when the leader is killed', async () => {
    const cluster = await startConsulCluster(3);
    pids.push(...cluster.servers.map((server) => server.pid!));
    const leader = await cluster.leader();
    await leader.kill();
    const next = await cluster.leader();
    assert.notEqual(next, leader);
    const put = await probe(`${next.url}/v1/kv/after-election`, { method: 'PUT', body: 'x' });
    assert.equal(put.body.trim(), 'true');
    await leader.restart();
    pids.push(leader.pid!);
    await cluster.stop();
  });
});
